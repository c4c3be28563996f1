"""What the sink keeps and decides: messages, attempts, faults and the use cases over them."""
