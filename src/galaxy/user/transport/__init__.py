"""Inbound I/O: the HTTP API of contracts/http/user.openapi.yaml."""
