"""One module per domain port: the User Service client and the Redis outbox."""
