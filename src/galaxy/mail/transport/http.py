"""HTTP routes of contracts/http/mail.openapi.yaml: authenticate, parse, call the domain, map errors."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from galaxy.common import problems
from galaxy.common.auth import OperatorToken, ServiceTokens
from galaxy.common.problems import problem_response, read_idempotency_key, read_json, read_query
from galaxy.mail.domain.errors import DeliveryNotFound, IdempotencyKeyReused, Invalid, RenderFailed, StoreUnavailable
from galaxy.mail.domain.model import Delivery, MailRequest, Origin
from galaxy.mail.domain.service import Deliveries
from galaxy_contracts import models
from galaxy_contracts.models import DeliveryQuery, DeliveryRequest, FieldViolation

log = logging.getLogger(__name__)


class Api:
    def __init__(self, deliveries: Deliveries, tokens: ServiceTokens, operator: OperatorToken) -> None:
        self._deliveries = deliveries
        self._tokens = tokens
        self._operator = operator

    def routes(self) -> list[Route]:
        return [
            Route("/v1/deliveries", self.create, methods=["POST"]),
            Route("/v1/deliveries/{delivery_id}", self.get, methods=["GET"]),
            Route("/v1/operator/deliveries", self.operator_list, methods=["GET"]),
            Route("/v1/operator/deliveries/{delivery_id}", self.operator_get, methods=["GET"]),
        ]

    async def create(self, request: Request) -> Response:
        caller = self._tokens.caller(request)
        key = read_idempotency_key(request)
        body = await read_json(request, DeliveryRequest, strict=True, forbid_null=True)
        mail = MailRequest(to=body.to, template=body.template, locale=body.locale, params=body.params)
        delivery, created = await self._deliveries.submit(mail, Origin("http", key, caller=caller))
        return _json(public(delivery), 202 if created else 200)

    async def get(self, request: Request) -> Response:
        self._tokens.caller(request)
        return _json(public(await self._deliveries.get(request.path_params["delivery_id"])))

    async def operator_list(self, request: Request) -> Response:
        self._operator.check(request)
        query = read_query(request, DeliveryQuery)
        found = await self._deliveries.search(query.to, query.template, query.status, query.limit)
        return _json(models.DeliveryList(deliveries=[rendered(d) for d in found]))

    async def operator_get(self, request: Request) -> Response:
        self._operator.check(request)
        return _json(rendered(await self._deliveries.get(request.path_params["delivery_id"])))


def public(delivery: Delivery) -> models.Delivery:
    return models.Delivery(
        delivery_id=delivery.delivery_id,
        status=delivery.status,
        to=delivery.request.to,
        template=delivery.request.template,
        created_at=delivery.created_at,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        last_error=delivery.last_error,
    )


def rendered(delivery: Delivery) -> models.RenderedDelivery:
    return models.RenderedDelivery(
        **public(delivery).model_dump(),
        subject=delivery.rendered.subject,
        text_body=delivery.rendered.text_body,
        html_body=delivery.rendered.html_body,
        source=delivery.origin.source,
        intent_id=delivery.origin.intent_id,
        locale=delivery.request.locale,
        message_id=delivery.message_id,
        history=[
            models.DeliveryAttempt(attempt=a.attempt, at=a.at, outcome=a.outcome, detail=a.detail)
            for a in delivery.history
        ],
    )


def _json(body: BaseModel, status: int = 200) -> Response:
    return JSONResponse(body.model_dump(mode="json"), status_code=status)


async def _on_invalid(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, Invalid)
    errors = [FieldViolation(field=field, message=reason) for field, reason in exc.violations.items()]
    return problem_response(422, "validation_failed", "one or more fields are invalid", errors)


async def _on_render_failed(_: Request, exc: Exception) -> Response:
    log.warning("template not rendered", extra={"reason": str(exc)})
    errors = [FieldViolation(field="params", message="the template cannot be rendered with these params")]
    return problem_response(422, "validation_failed", "the template cannot be rendered with these params", errors)


async def _on_reused(_: Request, exc: Exception) -> Response:
    return problem_response(422, "idempotency_key_reused", "this Idempotency-Key was used for a different request")


async def _on_not_found(_: Request, exc: Exception) -> Response:
    return problem_response(404, "not_found", "no delivery with this delivery_id")


async def _on_unavailable(_: Request, exc: Exception) -> Response:
    log.warning("delivery store unavailable", extra={"reason": str(exc)})
    return problem_response(503, "upstream_unavailable", "the delivery store is unavailable; retry later")


EXCEPTION_HANDLERS: dict[Any, Any] = {
    **problems.EXCEPTION_HANDLERS,
    Invalid: _on_invalid,
    RenderFailed: _on_render_failed,
    IdempotencyKeyReused: _on_reused,
    DeliveryNotFound: _on_not_found,
    StoreUnavailable: _on_unavailable,
}
