"""Boundary notificationmail: real Notification Service + real Mail Service (smtp) + SMTP sink; User is a stub.

Proves, for every e-mail type of the catalog, that an intent on
``notification:intents`` ends as a mail rendered for its recipient (locale,
display name from the user stub's seeded account) at the SMTP sink; a
duplicated intent sends one mail; an opted-out user gets none of the types
that respect preferences; and a clean or ``kill -9`` restart of the durable
Redis, or a ``kill -9`` of Notification Service, loses and duplicates nothing.
"""
