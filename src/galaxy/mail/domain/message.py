"""The MIME message of a delivery (stdlib ``email``): the same bytes however often it is built."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime

from galaxy.mail.domain.model import Delivery

DELIVERY_HEADER = "X-Galaxy-Delivery-Id"
TEMPLATE_HEADER = "X-Galaxy-Template"


def compose(delivery: Delivery, sender: str) -> EmailMessage:
    """Subject, text/plain and (when the template has one) text/html as multipart/alternative.

    ``Message-ID`` and ``Date`` were fixed at acceptance, so a resend after a crash is the same message.
    """
    message = EmailMessage()
    message["From"] = sender
    message["To"] = delivery.request.to
    message["Subject"] = delivery.rendered.subject
    message["Date"] = format_datetime(delivery.created_at)
    message["Message-ID"] = delivery.message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    message[DELIVERY_HEADER] = delivery.delivery_id
    message[TEMPLATE_HEADER] = delivery.request.template
    message.set_content(delivery.rendered.text_body)
    if delivery.rendered.html_body is not None:
        message.add_alternative(delivery.rendered.html_body, subtype="html")
    # After the body: set_content() drops every Content-* header set before it.
    message["Content-Language"] = delivery.request.locale
    return message
