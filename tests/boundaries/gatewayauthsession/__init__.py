"""Boundary gatewayauthsession: real Edge Gateway + real Auth/Session; User and Mail are stubs.

Proves the public login flow (code read from the mail stub), its failure modes
(wrong code, attempt limit, expiry, reuse, malformed input), logout, and a clean
UNAVAILABLE while authsession is down.
"""
