"""Generic runtime utilities of the boundary suites; nothing here knows a boundary.

Where a boundary is and how a run is laid out:

- ``manifest``: a boundary's manifest (``.lab/manifests/<boundary>.json``), skip or fail without a lab
- ``suites``: where the boundary suites live (``tests/boundaries/<boundary>/``), a light module
- ``scheduling``: how a run spreads the suites over xdist workers (a boundary per worker, heaviest first, after
  the lab-state checks)
- ``fixtures``: the suites' generic fixtures (``manifest``, ``secrets``, ``processes``, ``redis``,
  ``gateway``, ``users``, ``codes``, ``email``), driven by each suite's ``boundary`` fixture
- ``locks``: the per-boundary lock that lets disruptive tests run alone

Waiting, reporting, keys:

- ``waits``: polling with a deadline (tenacity), never a fixed sleep
- ``keys``: unique e-mails and ids per test (parallel-safe)
- ``tally``: figures a test reports even when it passes
- ``seen``: secrets the suites see (session tokens, login codes), recorded for the secret audit
- ``cli``: what a ``galaxylab`` run printed and how it ended (the CLI's end-to-end and multi-host tests)

Reaching the components, as their published contracts allow:

- ``clients``: the published-contract client of each kind of component
- ``rpc``: gRPC failures as a client sees them (status, BadRequest field violations, ErrorInfo)
- ``problems``: HTTP problem+json answers as a client reads them
- ``processes``: stop/start/kill a component or Redis through the host's process manager
- ``secrets``: the boundary's credentials, read through testinfra
- ``logs``: program logs as the lab wrote them, read through the component's host
- ``redis``: the boundary's Redis and its public streams; ``streams``: entries written, pending or handled
- ``sessions``: sessions as authsession would open them, without authsession
- ``login``: the public login flow through the gateway, with the code from any ``LoginCodes``
- ``push``: push subscriptions as a client holds them (the gateway's ``Subscribe``)
- ``stubs``: the stubs' control API; ``login_codes``: login codes recorded by the mail stub
- ``mailed_codes``: login codes read from real mail (the SMTP sink or Mail's operator surface)
- ``sink``: the SMTP sink's API: received mail (search, wait without polling), SMTP faults, attempts
- ``arrivals``: what arrived at the sink, per recipient and per ``Message-ID``
- ``mail_load``: many sends to Mail at once, and Mail's public queue keys
- ``mail_operator``: Mail's operator surface
- ``intents``: the one intent of a type for a user on ``notification:intents``;
  ``intent_producer``: intents written as a producer would
- ``catalog``: the notification catalog as suites use it
"""
