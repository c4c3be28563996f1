"""Outbound I/O: the Redis account store and the notification-intent publisher."""
