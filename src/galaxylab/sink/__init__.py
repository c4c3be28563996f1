"""The lab's SMTP sink: a real SMTP server that keeps what it receives in memory.

Boundaries whose Mail Service sends through its ``smtp`` provider deliver to a
sink; tests read, search and wait for the mail, and inject SMTP faults, through
its HTTP API (see README.md beside this file).
"""
