"""The sink's listeners: SMTP (aiosmtpd) and the HTTP API (Starlette)."""
