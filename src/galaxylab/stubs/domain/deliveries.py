"""Mail stub: deliveries kept in memory with Mail Service's contract rules, recorded and never sent.

What the stub shares with Mail Service (so a request one accepts the other accepts): the templates and
their params (galaxy_contracts.mail_templates), one idempotency scope per caller, and "same key with a
different request" told by the same fingerprint. What it does not do: render the real templates. Its
messages are a plain lab rendering (``subject``: the template; ``text_body``: one ``name: value`` line
per param), enough for a suite to read a code from the operator surface.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from galaxy_contracts.mail_templates import required_params
from galaxy_contracts.models import Delivery, DeliveryAttempt, DeliveryRequest, DeliveryStatus, RenderedDelivery

MESSAGE_ID_DOMAIN = "mail-stub.invalid"
RECORDED = "recorded by the lab's mail stub (nothing sent)"


class DeliveryNotFound(Exception):
    pass


class Invalid(Exception):
    """Well-formed request with values the contract refuses; ``violations`` maps field path to reason."""

    def __init__(self, violations: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in violations.items()))
        self.violations = violations


class IdempotencyKeyReused(Exception):
    """The caller's key names an earlier delivery made for a different request."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def fingerprint(request: DeliveryRequest) -> str:
    """Equal for equal requests (the address compared case-insensitively), as Mail Service tells a replay."""
    canonical = json.dumps(
        [request.to.lower(), request.template, request.locale, request.params], sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class RecordedDelivery:
    rendered: RenderedDelivery
    request: DeliveryRequest
    idempotency_key: str
    caller: str
    fingerprint: str

    @property
    def public(self) -> Delivery:
        """What the service routes answer (no message, no history)."""
        return Delivery.model_validate(self.rendered.model_dump())

    def as_json(self) -> dict[str, Any]:
        """The delivery with what was asked for: the control API's view."""
        return self.public.model_dump(mode="json") | {
            "locale": self.request.locale,
            "params": self.request.params,
            "idempotency_key": self.idempotency_key,
            "caller": self.caller,
        }


class DeliveryStore:
    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._by_id: dict[str, RecordedDelivery] = {}
        self._by_scope: dict[tuple[str, str], str] = {}
        # lower-cased address -> ids, oldest first: a search by address costs the same with 10,000 deliveries
        # recorded as with ten (the login bench reads every code so)
        self._by_to: dict[str, list[str]] = {}
        self._required = required_params()
        self._clock = clock

    def create(self, key: str, request: DeliveryRequest, caller: str) -> tuple[RecordedDelivery, bool]:
        """The delivery for ``caller``'s ``key``: new (``True``) or the earlier one replayed (``False``)."""
        existing = self._by_scope.get((caller, key))
        if existing is not None:
            earlier = self._by_id[existing]
            if earlier.fingerprint != fingerprint(request):
                raise IdempotencyKeyReused(earlier.rendered.delivery_id)
            return earlier, False
        self._check(request)
        recorded = RecordedDelivery(self._record(request), request, key, caller, fingerprint(request))
        self._by_id[recorded.rendered.delivery_id] = recorded
        self._by_scope[(caller, key)] = recorded.rendered.delivery_id
        self._by_to.setdefault(request.to.lower(), []).append(recorded.rendered.delivery_id)
        return recorded, True

    def get(self, delivery_id: str) -> RecordedDelivery:
        recorded = self._by_id.get(delivery_id)
        if recorded is None:
            raise DeliveryNotFound(delivery_id)
        return recorded

    def search(
        self, to: str | None, template: str | None, status: DeliveryStatus | None, limit: int
    ) -> list[RecordedDelivery]:
        """Newest first; every given filter must match (``to`` case-insensitively)."""
        candidates = (
            reversed(self._by_id.values())
            if to is None
            else (self._by_id[i] for i in reversed(self._by_to.get(to.lower(), [])))
        )
        found = (
            d
            for d in candidates
            if (template is None or d.rendered.template == template) and (status is None or d.rendered.status == status)
        )
        return list(itertools.islice(found, limit))

    def all(self) -> list[RecordedDelivery]:
        return list(self._by_id.values())

    def clear(self) -> None:
        self._by_id.clear()
        self._by_scope.clear()
        self._by_to.clear()

    def _check(self, request: DeliveryRequest) -> None:
        required = self._required.get(request.template)
        if required is None:
            raise Invalid({"template": f"no template named {request.template!r}"})
        missing = [name for name in required if name not in request.params]
        if missing:
            raise Invalid({f"params.{name}": "required by the template" for name in missing})

    def _record(self, request: DeliveryRequest) -> RenderedDelivery:
        now = self._clock()
        delivery_id = f"d_{secrets.token_hex(16)}"
        return RenderedDelivery(
            delivery_id=delivery_id,
            status="recorded",
            to=request.to,
            template=request.template,
            created_at=now,
            attempts=1,
            subject=f"[mail-stub] {request.template}",
            text_body=render_text(request),
            source="http",
            locale=request.locale,
            message_id=f"<{delivery_id}@{MESSAGE_ID_DOMAIN}>",
            history=[DeliveryAttempt(attempt=1, at=now, outcome="recorded", detail=RECORDED)],
        )


def render_text(request: DeliveryRequest) -> str:
    """The lab rendering: the template, then one ``name: value`` line per param (strings as they are)."""
    lines = [f"template: {request.template}", f"locale: {request.locale}"]
    for name, value in sorted(request.params.items()):
        lines.append(f"{name}: {value if isinstance(value, str) else json.dumps(value, sort_keys=True)}")
    return "\n".join(lines) + "\n"
