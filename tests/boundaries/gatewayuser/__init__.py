"""Boundary gatewayuser: real Edge Gateway + real User Service, tokens minted with the lab's key.

Proves self-service through the gateway (read, update, validation), token
refusal (forged, expired, wrong audience, unknown kid, missing, revoked), that a
token only ever reaches its own account, and the account.updated intent.
"""
