"""Boundary authsessionmail: real Auth/Session + real Mail Service (smtp provider) + SMTP sink; User is a stub.

Proves the auth-code mail goes through the real Mail Service over SMTP (one
capture scenario: recipient, subject, code in both parts, headers), SMTP 4xx
retried on Mail's schedule and delivered later, 5xx dead-lettered, and that a
clean or ``kill -9`` restart of the durable Redis, and a ``kill -9`` of Mail
mid-send, lose and duplicate none of 1,000 queued deliveries. (An ended delivery
lifetime: gatewayauthsessionusermail, whose lifetime is short.)
"""
