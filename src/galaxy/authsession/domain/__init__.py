"""The login rules: challenges, sessions, intents and the refusals. Pure: no I/O."""
