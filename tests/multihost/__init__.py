"""One boundary spread over hosts made of network namespaces with their own sshd (inventory/example-multihost)."""
