"""The lab's own programs: plan, artifact, secrets, readiness, stubs, SMTP sink, CLI."""
