"""Inbound: the HTTP API of contracts/http/authsession.openapi.yaml."""
