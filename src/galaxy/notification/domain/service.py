"""The use case: one delivery of an intent becomes a push and/or a mail, a dead letter, or a later retry."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from galaxy.notification.domain.catalog import Templates
from galaxy.notification.domain.errors import RecipientNotFound, RecipientsUnavailable, Undeliverable
from galaxy.notification.domain.model import (
    Channel,
    DeadLetter,
    DeadReason,
    Intent,
    Notification,
    Outcome,
    Received,
    Recipient,
)
from galaxy.notification.domain.ports import Outbox, Recipients
from galaxy_contracts import redis_keys, streams
from galaxy_contracts.streams import RESERVED_PARAM, CatalogType

log = logging.getLogger(__name__)
DETAIL_MAX = 1000
MAIL_KEY_PREFIX = "notification:"


@dataclass(frozen=True)
class Handled:
    """What became of one delivery, for metrics and logs."""

    outcome: Outcome
    reason: DeadReason | None = None
    skipped: tuple[Channel, ...] = ()
    written: tuple[Channel, ...] = ()
    detail: str = ""


class Notifier:
    def __init__(
        self,
        templates: Templates,
        recipients: Recipients,
        outbox: Outbox,
        *,
        max_deliveries: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._templates = templates
        self._recipients = recipients
        self._outbox = outbox
        self._max_deliveries = max_deliveries
        self._clock = clock

    async def handle(self, received: Received) -> Handled:
        if received.deliveries > self._max_deliveries:
            detail = f"delivered {received.deliveries} times without being handled"
            return await self._dead(DeadLetter(received, DeadReason.POISON, detail))
        try:
            intent, spec = self._parse(received)
            if await self._outbox.seen(intent.intent_id):
                await self._outbox.acknowledge(received)
                return Handled(Outcome.DUPLICATE)
            recipient = await self._recipients.get(intent.user_id)
            notification = self._compose(intent, spec, recipient)
        except Undeliverable as exc:
            return await self._dead(DeadLetter(received, exc.reason, exc.detail))
        except RecipientNotFound as exc:
            return await self._dead(DeadLetter(received, DeadReason.USER_NOT_FOUND, str(exc)))
        except RecipientsUnavailable as exc:
            return await self._retry_or_give_up(received, str(exc))
        outcome = await self._outbox.deliver(received, notification)
        if outcome is not Outcome.DELIVERED:
            return Handled(outcome)
        return Handled(outcome, skipped=notification.skipped, written=notification.channels)

    async def _retry_or_give_up(self, received: Received, why: str) -> Handled:
        if received.deliveries >= self._max_deliveries:
            detail = f"still failing after {received.deliveries} deliveries: {why}"
            return await self._dead(DeadLetter(received, DeadReason.POISON, detail))
        return Handled(Outcome.RETRY, detail=why)

    async def _dead(self, dead: DeadLetter) -> Handled:
        dead = DeadLetter(dead.received, dead.reason, _one_line(dead.detail))
        written = await self._outbox.dead_letter(dead)
        if not written:
            return Handled(Outcome.LOST_RACE)
        return Handled(Outcome.DEAD_LETTERED, reason=dead.reason, detail=dead.detail)

    # --- reading the intent -----------------------------------------------------------------------

    def _parse(self, received: Received) -> tuple[Intent, CatalogType]:
        fields = dict(received.fields)
        try:
            streams.validate(redis_keys.NOTIFICATION_INTENTS, fields)
            occurred_at = datetime.fromisoformat(fields["occurred_at"])
        except (streams.InvalidEntry, ValueError) as exc:
            raise Undeliverable(DeadReason.INVALID_ENTRY, str(exc)) from None
        params = json.loads(fields["params"])
        if not isinstance(params, dict):
            raise Undeliverable(DeadReason.INVALID_ENTRY, "params: not a JSON object")
        spec = self._templates.spec(fields["type"])
        if spec is None:
            raise Undeliverable(DeadReason.UNKNOWN_TYPE, f"type {fields['type']!r} is not in the catalog")
        missing = sorted(set(spec.params) - params.keys())
        if missing:
            raise Undeliverable(DeadReason.INVALID_ENTRY, f"params: {fields['type']} needs {missing}")
        if RESERVED_PARAM in params:
            raise Undeliverable(DeadReason.INVALID_ENTRY, f"params: {RESERVED_PARAM!r} is reserved")
        intent = Intent(fields["intent_id"], fields["type"], fields["user_id"], params, occurred_at, fields["producer"])
        return intent, spec

    # --- what to write ------------------------------------------------------------------------------

    def _compose(self, intent: Intent, spec: CatalogType, recipient: Recipient) -> Notification:
        created_at = self._clock().isoformat()
        wanted = {c for c in Channel if spec.respects_preferences is False or recipient.wants(c)}
        push = self._push(intent, recipient, created_at) if spec.push and Channel.PUSH in wanted else None
        mail = self._mail(intent, spec, recipient, created_at) if spec.email and Channel.EMAIL in wanted else None
        skipped = tuple(c for c in Channel if _has(spec, c) and c not in wanted)
        return Notification(intent.intent_id, push=push, mail=mail, skipped=skipped)

    def _push(self, intent: Intent, recipient: Recipient, created_at: str) -> dict[str, str]:
        context = {"params": intent.params, "recipient": recipient.context()}
        title, body = self._templates.render_push(intent.type, context)
        fields = {
            "intent_id": intent.intent_id,
            "type": intent.type,
            "user_id": intent.user_id,
            "title": title,
            "body": body,
            "data": _json(intent.params),
            "created_at": created_at,
        }
        return _checked(redis_keys.GATEWAY_PUSH, fields)

    def _mail(self, intent: Intent, spec: CatalogType, recipient: Recipient, created_at: str) -> dict[str, str]:
        assert spec.email is not None
        fields = {
            "idempotency_key": MAIL_KEY_PREFIX + intent.intent_id,
            "intent_id": intent.intent_id,
            "to": recipient.email,
            "template": spec.email.template,
            "locale": recipient.locale,
            "params": _json({**intent.params, RESERVED_PARAM: recipient.context()}),
            "created_at": created_at,
        }
        return _checked(redis_keys.MAIL_DELIVERIES, fields)


def _has(spec: CatalogType, channel: Channel) -> bool:
    return (spec.push if channel is Channel.PUSH else spec.email) is not None


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _checked(stream: str, fields: dict[str, str]) -> dict[str, str]:
    """Never write what the stream's readers would refuse (e.g. a recipient the schema does not allow)."""
    try:
        streams.validate(stream, fields)
    except streams.InvalidEntry as exc:
        raise Undeliverable(DeadReason.RENDER_FAILED, str(exc)) from None
    return fields


def _one_line(text: str) -> str:
    cleaned = " ".join(text.split())
    return cleaned if len(cleaned) <= DETAIL_MAX else cleaned[: DETAIL_MAX - 1] + "…"
