"""Public Redis keys and streams (contracts/redis/keys.md)."""

NOTIFICATION_INTENTS = "notification:intents"
NOTIFICATION_INTENTS_DEAD = "notification:intents:dead"
GATEWAY_PUSH = "gateway:push"
MAIL_DELIVERIES = "mail:deliveries"
MAIL_DELIVERIES_DEAD = "mail:deliveries:dead"

NOTIFICATION_GROUP = "notification"
MAIL_GROUP = "mail"


def session(session_id: str) -> str:
    """Hash of an active session: user_id, created_at, expires_at, kid."""
    return f"authsession:session:{session_id}"


def user_sessions(user_id: str) -> str:
    """Set of the user's active session ids."""
    return f"authsession:user-sessions:{user_id}"
