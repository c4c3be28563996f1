"""Mail stub: deliveries recorded in memory, never sent, one per idempotency key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from galaxy_contracts.models import Delivery, DeliveryRequest


class DeliveryNotFound(Exception):
    pass


@dataclass(frozen=True)
class RecordedDelivery:
    delivery: Delivery
    request: DeliveryRequest
    idempotency_key: str
    caller: str

    def as_json(self) -> dict[str, Any]:
        """The delivery with what was asked for: the control API's view."""
        return self.delivery.model_dump(mode="json") | {
            "locale": self.request.locale,
            "params": self.request.params,
            "idempotency_key": self.idempotency_key,
            "caller": self.caller,
        }


class DeliveryStore:
    def __init__(self) -> None:
        self._by_id: dict[str, RecordedDelivery] = {}
        self._by_key: dict[str, str] = {}

    def create(self, key: str, request: DeliveryRequest, caller: str) -> tuple[RecordedDelivery, bool]:
        """The delivery for ``key``: new (``True``) or the earlier one replayed (``False``)."""
        existing = self._by_key.get(key)
        if existing is not None:
            return self._by_id[existing], False
        delivery = Delivery(
            delivery_id=f"d_{secrets.token_hex(16)}",
            status="recorded",
            to=request.to,
            template=request.template,
            created_at=datetime.now(UTC),
        )
        recorded = RecordedDelivery(delivery, request, key, caller)
        self._by_id[delivery.delivery_id] = recorded
        self._by_key[key] = delivery.delivery_id
        return recorded, True

    def get(self, delivery_id: str) -> RecordedDelivery:
        recorded = self._by_id.get(delivery_id)
        if recorded is None:
            raise DeliveryNotFound(delivery_id)
        return recorded

    def all(self) -> list[RecordedDelivery]:
        return list(self._by_id.values())

    def clear(self) -> None:
        self._by_id.clear()
        self._by_key.clear()
