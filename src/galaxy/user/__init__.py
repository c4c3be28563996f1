"""User Service: accounts, profile, preferences and blocking (contracts/http/user.openapi.yaml)."""
