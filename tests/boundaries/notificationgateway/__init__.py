"""Boundary notificationgateway: real Notification Service + real Edge Gateway, user stub, durable Redis.

Proves that an intent on ``notification:intents`` reaches every open Subscribe
stream of its user through the real gateway and no other user's, for every push
type of the catalog; that a client resuming with its last event id gets exactly
the ``gateway:push`` entries of its user (no gap, no duplicate, in order); that
a cursor older than the retained stream is FAILED_PRECONDITION and one newer
than its newest entry OUT_OF_RANGE; that a slow
client stalls no one else; that a revoked or expired session's stream ends
UNAUTHENTICATED; and that restarting Redis (clean and ``kill -9``) or killing
Notification Service mid-scenario loses and duplicates nothing.
"""
