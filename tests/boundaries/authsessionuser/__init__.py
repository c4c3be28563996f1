"""Boundary authsessionuser: real Auth/Session + real User Service; Mail is a stub.

Proves account resolution at confirm (exactly one account, also under concurrent
confirms; the same account for a known e-mail), blocked accounts, and that the
challenge stays usable while User Service is down.
"""
