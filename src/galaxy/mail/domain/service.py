"""The operations of Mail Service, in terms of the delivery rules and the ports."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from galaxy.mail import metrics
from galaxy.mail.domain import templates
from galaxy.mail.domain.errors import (
    DeliveryNotFound,
    IdempotencyKeyReused,
    MissingParams,
    SendFailed,
    UnknownTemplate,
)
from galaxy.mail.domain.message import compose
from galaxy.mail.domain.model import (
    Attempt,
    DeadLetter,
    DeadReason,
    Delivery,
    MailRequest,
    Origin,
    Outcome,
    RetryPolicy,
    Status,
    new_delivery_id,
    one_line,
    require_delivery_id,
    utcnow,
)
from galaxy.mail.domain.ports import DeliveryStore, Depths, Provider, Templates

log = logging.getLogger(__name__)
SUBJECT_MAX = 500


def _nothing() -> None:
    return None


class Deliveries:
    """Accepting deliveries (HTTP and stream) and looking them up."""

    def __init__(
        self,
        store: DeliveryStore,
        renderer: Templates,
        policy: RetryPolicy,
        *,
        sender_domain: str,
        clock: Callable[[], datetime] = utcnow,
        on_accepted: Callable[[], None] = _nothing,
    ) -> None:
        self._store = store
        self._renderer = renderer
        self._policy = policy
        self._domain = sender_domain
        self._clock = clock
        self._on_accepted = on_accepted
        self._required = templates.required_params()

    async def submit(self, request: MailRequest, origin: Origin) -> tuple[Delivery, bool]:
        """The delivery for ``origin``'s idempotency key: rendered, stored and queued (True), or the earlier
        one replayed (False). Nothing is queued unless it is stored first."""
        if origin.source == "http":  # a stream entry goes through accept, which acknowledges it
            earlier = await self._store.find(origin.scope)
            if earlier is not None:
                return _replayed(earlier, request), False
        delivery = self._new(request, origin)
        stored_id, created = await self._store.accept(delivery)
        if not created:
            earlier = await self._store.get(stored_id)
            if earlier is None:
                raise DeliveryNotFound(stored_id)
            return _replayed(earlier, request), False
        metrics.ACCEPTED.labels(origin.source).inc()
        log.info(
            "delivery accepted",
            extra={"delivery_id": delivery.delivery_id, "template": request.template, "source": origin.source},
        )
        self._on_accepted()
        return delivery, True

    def _new(self, request: MailRequest, origin: Origin) -> Delivery:
        required = self._required.get(request.template)
        if required is None:
            raise UnknownTemplate(request.template)
        missing = [name for name in required if name not in request.params]
        if missing:
            raise MissingParams(missing)
        rendered = self._renderer.render(
            request.template, request.locale, templates.context(request.to, request.locale, request.params)
        )
        rendered = replace(rendered, subject=one_line(rendered.subject, SUBJECT_MAX))
        now = self._clock()
        delivery_id = new_delivery_id()
        return Delivery(
            delivery_id=delivery_id,
            status="queued",
            request=request,
            origin=origin,
            rendered=rendered,
            message_id=f"<{delivery_id}@{self._domain}>",
            fingerprint=request.fingerprint(),
            created_at=now,
            expires_at=now + timedelta(seconds=self._policy.lifetime_seconds),
        )

    async def reject_entry(
        self, entry_id: str, fields: dict[str, str], reason: DeadReason, detail: str, deliveries: int
    ) -> None:
        """A stream entry that can never become a delivery: dead-lettered with ``reason`` and acknowledged."""
        letter = DeadLetter(
            source_id=entry_id,
            entry=json.dumps(fields, ensure_ascii=False, sort_keys=True),
            reason=reason,
            detail=one_line(detail),
            deliveries=deliveries,
            dead_at=self._clock(),
        )
        await self._store.reject_entry(letter)
        metrics.DEAD_LETTERED.labels(reason).inc()
        log.warning("stream entry dead-lettered", extra={"entry_id": entry_id, "reason": reason})

    async def get(self, delivery_id: str) -> Delivery:
        delivery = await self._store.get(require_delivery_id(delivery_id))
        if delivery is None:
            raise DeliveryNotFound(delivery_id)
        return delivery

    async def search(self, to: str | None, template: str | None, status: Status | None, limit: int) -> list[Delivery]:
        return await self._store.search(to.lower() if to else None, template, status, limit)


def _replayed(earlier: Delivery, request: MailRequest) -> Delivery:
    if earlier.fingerprint != request.fingerprint():
        raise IdempotencyKeyReused(earlier.delivery_id)
    return earlier


class Dispatcher:
    """Sending: claim from the work queue, hand to the provider, then done, retry later or give up."""

    def __init__(
        self,
        store: DeliveryStore,
        provider: Provider,
        policy: RetryPolicy,
        *,
        sender: str,
        owner: str,
        lease_seconds: float,
        retention_seconds: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._provider = provider
        self._policy = policy
        self._sender = sender
        self._owner = owner
        self._lease = timedelta(seconds=lease_seconds)
        self._retention = retention_seconds
        self._clock = clock

    async def claim(self) -> Delivery | None:
        return await self._store.claim(self._owner, self._clock() + self._lease)

    async def deliver(self, delivery: Delivery) -> Status:
        """One attempt at ``delivery``; its status afterwards."""
        if delivery.final:  # a copy put back by a lease that ran out while it was being finished
            await self._store.release(delivery.delivery_id)
            return delivery.status
        if self._clock() >= delivery.expires_at:
            return await self._give_up(
                delivery, "expired", "retries_exhausted", "its lifetime ended before it was sent"
            )
        try:
            message = compose(delivery, self._sender)
        except (ValueError, TypeError) as exc:
            return await self._give_up(delivery, "render_failed", "render_failed", f"message not built: {exc}")
        try:
            answer = await self._provider.send(message)
        except SendFailed as failure:
            if failure.permanent:
                return await self._give_up(delivery, "permanent_failure", "smtp_permanent", failure.detail)
            return await self._retry(delivery, failure.detail)
        return await self._done(delivery, answer)

    async def _done(self, delivery: Delivery, answer: str) -> Status:
        status = self._provider.status
        outcome: Outcome = "sent" if status == "sent" else "recorded"
        attempt = self._attempt(delivery, outcome, answer)
        ended = replace(delivery, status=status, attempts=attempt.attempt, next_attempt_at=None, last_error=None)
        await self._store.finish(ended, attempt, retention_seconds=self._retention)
        metrics.SENT.labels(status).inc()
        log.info("delivery %s", status, extra={"delivery_id": delivery.delivery_id, "attempt": attempt.attempt})
        return status

    async def _retry(self, delivery: Delivery, detail: str) -> Status:
        attempt = self._attempt(delivery, "transient_failure", detail)
        retry_at = self._policy.next_attempt(attempt.attempt, attempt.at, delivery.expires_at)
        if retry_at is None:
            reason = f"{detail}; the next retry would fall after its lifetime"
            return await self._give_up(delivery, "transient_failure", "retries_exhausted", reason)
        waiting = replace(
            delivery, status="retrying", attempts=attempt.attempt, next_attempt_at=retry_at, last_error=attempt.detail
        )
        await self._store.finish(waiting, attempt, retry_at=retry_at)
        metrics.RETRIED.inc()
        log.info(
            "delivery will be retried",
            extra={"delivery_id": delivery.delivery_id, "attempt": attempt.attempt, "retry_at": retry_at.isoformat()},
        )
        return "retrying"

    async def _give_up(self, delivery: Delivery, outcome: Outcome, reason: DeadReason, detail: str) -> Status:
        attempt = self._attempt(delivery, outcome, detail)
        last_error = f"{reason}: {attempt.detail}"
        failed = replace(
            delivery, status="failed", attempts=attempt.attempt, next_attempt_at=None, last_error=last_error
        )
        letter = DeadLetter(
            source_id=delivery.origin.entry_id or delivery.delivery_id,
            entry=delivery.origin.entry or _request_entry(delivery),
            reason=reason,
            detail=one_line(last_error),
            deliveries=attempt.attempt,
            dead_at=attempt.at,
        )
        await self._store.finish(failed, attempt, dead=letter, retention_seconds=self._retention)
        metrics.FAILED.labels(reason).inc()
        metrics.DEAD_LETTERED.labels(reason).inc()
        log.warning("delivery failed", extra={"delivery_id": delivery.delivery_id, "reason": reason})
        return "failed"

    def _attempt(self, delivery: Delivery, outcome: Outcome, detail: str) -> Attempt:
        return Attempt(delivery.attempts + 1, self._clock(), outcome, one_line(detail) or None)

    async def move_due(self, limit: int = 100) -> int:
        return await self._store.move_due(self._clock(), limit)

    async def reclaim(self, *, own: bool = False) -> int:
        """Deliveries whose lease ran out (and, ``own``, those this instance held before it restarted)."""
        reclaimed = await self._store.reclaim(self._clock(), self._owner if own else None)
        if reclaimed:
            log.warning("in-flight deliveries put back on the queue", extra={"count": reclaimed})
        return reclaimed

    async def depths(self) -> Depths:
        return await self._store.depths()


def _request_entry(delivery: Delivery) -> str:
    """What was asked for, for the dead letter of an HTTP delivery."""
    request = delivery.request
    fields = {
        "to": request.to,
        "template": request.template,
        "locale": request.locale,
        "params": json.dumps(request.params, ensure_ascii=False, sort_keys=True),
        "idempotency_key": delivery.origin.idempotency_key,
        "caller": delivery.origin.caller,
    }
    return json.dumps(fields, ensure_ascii=False, sort_keys=True)
