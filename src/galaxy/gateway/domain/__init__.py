"""What the gateway decides: who the caller is, what may change, how failures read to clients."""
