"""Account rules, free of I/O: what an account is and how it may change."""
