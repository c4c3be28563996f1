"""What can go wrong in the delivery rules, independent of any transport."""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base of every error the delivery rules raise on purpose."""


class Invalid(DomainError):
    """Well-formed input whose values break a rule; ``violations`` maps field path to reason."""

    def __init__(self, violations: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in violations.items()))
        self.violations = dict(violations)


class UnknownTemplate(Invalid):
    def __init__(self, template: str) -> None:
        super().__init__({"template": f"no template named {template!r}"})
        self.template = template


class MissingParams(Invalid):
    def __init__(self, names: list[str]) -> None:
        super().__init__({f"params.{name}": "required by the template" for name in names})


class RenderFailed(DomainError):
    """A template could not be rendered with the given params (the detail never quotes them)."""


class IdempotencyKeyReused(DomainError):
    """The idempotency key names an earlier delivery with a different request."""

    def __init__(self, delivery_id: str) -> None:
        super().__init__(f"the key was used for delivery {delivery_id} with another request")
        self.delivery_id = delivery_id


class DeliveryNotFound(DomainError):
    def __init__(self, delivery_id: str) -> None:
        super().__init__(f"no delivery {delivery_id}")
        self.delivery_id = delivery_id


class StoreUnavailable(DomainError):
    """The delivery store could not be reached or timed out; safe to retry."""


class SendFailed(DomainError):
    """The provider did not take the message. ``permanent``: never retry (an SMTP 5xx reply)."""

    def __init__(self, detail: str, *, permanent: bool) -> None:
        super().__init__(detail)
        self.detail = detail
        self.permanent = permanent
