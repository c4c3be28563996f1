"""Names of a boundary's secret files (``galaxylab.secrets`` writes them) and of the callers holding a token."""

from __future__ import annotations

# Callers with their own entry in service-tokens.json and their own <caller>.token file.
CALLERS = ("gateway", "authsession", "notification", "lab")
SERVICE_TOKENS = "service-tokens.json"
SIGNING_KEY = "signing-key.pem"
TOKEN_KEYS = "token-keys.json"
SIGNING_KID = "signing-kid"
OPERATOR_TOKEN = "operator.token"
SECRET_FILES = (
    SERVICE_TOKENS,
    *(f"{caller}.token" for caller in CALLERS),
    SIGNING_KEY,
    TOKEN_KEYS,
    SIGNING_KID,
    OPERATOR_TOKEN,
)
# What a catalog entry may name in its ``secrets`` (the kid is a generated value, not read from a file).
SECRET_NAMES = tuple(name for name in SECRET_FILES if name != SIGNING_KID)
