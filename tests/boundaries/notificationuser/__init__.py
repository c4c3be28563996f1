"""Boundary notificationuser: real Notification Service + real User Service, durable Redis.

Proves that recipients are enriched through the real User Service (the push and
mail entries carry the display name, e-mail and locale User Service holds, and
validate against their schemas), that a missing user is dead-lettered while
later intents keep flowing, that User Service stopped through the process
manager leaves intents pending and delivers each exactly once when it is back,
that a duplicated intent id gives one output, and that an opted-out channel
gets nothing, for every type and channel of the catalog.
"""
