"""Names of a boundary's secret files (``galaxylab.secrets`` writes them), of the callers holding a token and
of the Redis ACL users holding a password."""

from __future__ import annotations

# Callers with their own entry in service-tokens.json and their own <caller>.token file.
CALLERS = ("gateway", "authsession", "notification", "lab")
SERVICE_TOKENS = "service-tokens.json"
SIGNING_KEY = "signing-key.pem"
TOKEN_KEYS = "token-keys.json"
SIGNING_KID = "signing-kid"
OPERATOR_TOKEN = "operator.token"
# Users of a boundary's Redis with a password (contracts/redis/keys.md "Who may touch what"): one per
# service that uses Redis (named by its kind), the test harness, and the lab's operations (state checks).
REDIS_USERS = ("gateway", "authsession", "user", "mail", "notification", "harness", "admin")


def redis_password_file(user: str) -> str:
    return f"redis-{user}.password"


SECRET_FILES = (
    SERVICE_TOKENS,
    *(f"{caller}.token" for caller in CALLERS),
    SIGNING_KEY,
    TOKEN_KEYS,
    SIGNING_KID,
    OPERATOR_TOKEN,
    *(redis_password_file(user) for user in REDIS_USERS),
)
# TLS (a lab with galaxylab_tls on): on the controller ``<secrets>/.tls/`` holds the lab's CA (``ca.pem``, and
# ``ca.key``, which never leaves the controller) and each host's certificate and key (``<host>.pem``,
# ``<host>.key``); a host's bundle puts the CA and its own pair into each of its boundaries' directories.
TLS_DIR = ".tls"
TLS_CA = "tls-ca.pem"
TLS_CERT = "tls-cert.pem"
TLS_KEY = "tls-key.pem"
TLS_FILES = (TLS_CA, TLS_CERT, TLS_KEY)
# What a catalog entry may name in its ``secrets`` (the kid is a generated value, not read from a file).
SECRET_NAMES = tuple(name for name in SECRET_FILES if name != SIGNING_KID)
