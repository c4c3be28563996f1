"""Boundary gatewayauthsessionmail: real Edge Gateway + Auth/Session + Mail Service (stub provider); User is a stub.

Proves the public login end to end with the code read the way an operator
would, through Mail's operator surface (Mail records instead of sending), and
that this surface admits the operator credential only and answers bad filters
with problem+json.
"""
