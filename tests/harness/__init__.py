"""Generic runtime utilities of the boundary suites; nothing here knows a boundary.

- ``manifest``: a boundary's manifest (``.lab/manifests/<boundary>.json``), skip or fail without a lab
- ``waits``: polling with a deadline (tenacity), never a fixed sleep
- ``keys``: unique e-mails and ids per test (parallel-safe)
- ``redis``: the boundary's Redis and its public streams
- ``processes``: stop/start/kill a component or Redis through the host's process manager
- ``secrets``: the boundary's credentials, read through testinfra
- ``locks``: the per-boundary lock that lets disruptive tests run alone
- ``rpc``: gRPC failures as a client sees them (status, BadRequest field violations, ErrorInfo)
- ``problems``: HTTP problem+json answers as a client reads them
- ``stubs``: the stubs' control API; ``login_codes``: login codes recorded by the mail stub
- ``sink``: the SMTP sink's API: received mail (search, wait without polling), SMTP faults, attempts
- ``login``: the public login flow through the gateway, with the code from any ``LoginCodes``
- ``intents``: the one intent of a type for a user on ``notification:intents``
- ``fixtures``: the suites' generic fixtures (``manifest``, ``secrets``, ``processes``, ``redis``,
  ``gateway``, ``users``, ``codes``, ``email``), driven by each suite's ``boundary`` fixture
"""
