"""Inbound I/O: the public gRPC surface (grpc.py, with its status mapping, metrics and health) and the
``gateway:push`` consumer (stream.py)."""
