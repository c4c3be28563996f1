"""Auth/Session Service: login challenges, sessions and signed session tokens (contracts/http/authsession)."""
