"""The outbound interfaces the delivery rules need; adapters implement them, tests swap them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

from galaxy.mail.domain.model import Attempt, DeadLetter, Delivery, Rendered, Status


class Templates(Protocol):
    def render(self, template: str, locale: str, context: Mapping[str, Any]) -> Rendered:
        """Subject, text and HTML of ``template`` in ``locale`` (falling back to ``en`` part by part).

        Raises ``UnknownTemplate`` when there is no such template, ``RenderFailed`` when it cannot be rendered.
        """


class Provider(Protocol):
    status: Status
    """What a delivery becomes once the provider took it: ``sent`` or ``recorded``."""

    async def send(self, message: EmailMessage) -> str:
        """Hand ``message`` over; returns the provider's answer. Raises ``SendFailed`` (permanent or not)."""


@dataclass(frozen=True)
class Depths:
    queued: int
    in_flight: int
    due: int


class DeliveryStore(Protocol):
    async def accept(self, delivery: Delivery) -> tuple[str, bool]:
        """Atomically: the delivery id already stored under ``delivery.origin.scope``, or ``delivery`` stored
        and queued; with the stream entry ``origin.entry_id`` acknowledged in the same step.

        Returns the stored delivery's id and whether this call created it.
        """

    async def find(self, scope: str) -> Delivery | None:
        """The delivery stored under an idempotency scope, if any."""

    async def get(self, delivery_id: str) -> Delivery | None: ...

    async def search(self, to: str | None, template: str | None, status: Status | None, limit: int) -> list[Delivery]:
        """Newest first, every filter given matching."""

    async def reject_entry(self, letter: DeadLetter) -> None:
        """Atomically: ``letter`` appended to ``mail:deliveries:dead`` and its stream entry acknowledged."""

    async def claim(self, owner: str, lease_until: datetime) -> Delivery | None:
        """Atomically move the next queued delivery to the in-flight list, leased to ``owner`` until
        ``lease_until``; None when nothing is queued."""

    async def release(self, delivery_id: str) -> None:
        """Drop an in-flight delivery that needs nothing more (it had already ended)."""

    async def finish(
        self,
        delivery: Delivery,
        attempt: Attempt,
        *,
        retry_at: datetime | None = None,
        dead: DeadLetter | None = None,
        retention_seconds: float | None = None,
    ) -> None:
        """Atomically: the attempt recorded, the delivery's new state written, it leaves the in-flight list and,
        as asked, is scheduled for ``retry_at``, dead-lettered, and kept ``retention_seconds`` from now."""

    async def move_due(self, now: datetime, limit: int) -> int:
        """Atomically move retries due by ``now`` back to the queue; how many moved."""

    async def reclaim(self, now: datetime, owner: str | None = None) -> int:
        """Put in-flight deliveries back on the queue: those whose lease ended by ``now`` and, when ``owner`` is
        given, every one leased to it (a restarted instance's own). How many."""

    async def depths(self) -> Depths: ...
