"""Boundary gatewayauthsessionusermail: real Edge Gateway + Auth/Session + User + Mail (smtp) + SMTP sink.

Proves full public registration across the four services with the code
delivered over real SMTP, and the regression the lab exists for: the auth-code
mail goes straight to Mail Service, never through ``notification:intents``,
while the new account's ``account.welcome`` intent is written there (with no
Notification Service in the boundary it stays on the stream, where it is read). Also Mail's delivery
lifetime: an auth-code mail refused with 4xx for good is retried until its (short, here) lifetime ends, then
dead-lettered.
"""
