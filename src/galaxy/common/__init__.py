"""Plumbing shared by every service: settings, logging, admin server, problem+json, Redis, auth."""
