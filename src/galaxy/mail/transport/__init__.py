"""Inbound I/O: the HTTP API, the ``mail:deliveries`` consumer and the work-queue runner."""
