"""Boundary gatewayauthsessionuser: real Edge Gateway + Auth/Session + User; Mail is a stub.

Proves registration through the public API end to end: new account and welcome
intent, self-service on it, the same account on the next login, logout.
"""
