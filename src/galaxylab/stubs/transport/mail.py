"""Mail v1 routes (contracts/http/mail.openapi.yaml), the operator surface included: deliveries are
recorded, not sent. Checks run in Mail Service's order with its shared code (galaxy.common), so the same
request gets the same status and problem code from the service and from this double."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from galaxy.common.auth import OperatorToken, ServiceTokens
from galaxy.common.problems import ProblemError, read_idempotency_key, read_query
from galaxy_contracts.models import (
    DELIVERY_ID_PATTERN,
    DeliveryList,
    DeliveryQuery,
    DeliveryRequest,
    FieldViolation,
)
from galaxylab.stubs.domain.deliveries import (
    DeliveryNotFound,
    DeliveryStore,
    IdempotencyKeyReused,
    Invalid,
    RecordedDelivery,
)
from galaxylab.stubs.transport.common import model_response, path_id, read_body


class MailApi:
    def __init__(self, store: DeliveryStore, tokens: ServiceTokens, operator: OperatorToken) -> None:
        self.store = store
        self.tokens = tokens
        self.operator = operator

    def routes(self) -> list[Route]:
        return [
            Route("/v1/deliveries", self.create, methods=["POST"]),
            Route("/v1/deliveries/{delivery_id}", self.get, methods=["GET"]),
            Route("/v1/operator/deliveries", self.operator_list, methods=["GET"]),
            Route("/v1/operator/deliveries/{delivery_id}", self.operator_get, methods=["GET"]),
        ]

    async def create(self, request: Request) -> Response:
        caller = self.tokens.caller(request)
        key = read_idempotency_key(request)
        body = await read_body(request, DeliveryRequest)
        with _refusals():
            recorded, created = self.store.create(key, body, caller)
        return model_response(recorded.public, 202 if created else 200)

    async def get(self, request: Request) -> Response:
        self.tokens.caller(request)
        return model_response(self._delivery(request).public)

    async def operator_list(self, request: Request) -> Response:
        self.operator.check(request)
        query = read_query(request, DeliveryQuery)
        found = self.store.search(query.to, query.template, query.status, query.limit)
        return model_response(DeliveryList(deliveries=[d.rendered for d in found]))

    async def operator_get(self, request: Request) -> Response:
        self.operator.check(request)
        return model_response(self._delivery(request).rendered)

    def _delivery(self, request: Request) -> RecordedDelivery:
        delivery_id = path_id(request, "delivery_id", DELIVERY_ID_PATTERN)
        try:
            return self.store.get(delivery_id)
        except DeliveryNotFound as exc:
            raise ProblemError(404, "not_found", "no delivery with this delivery_id") from exc


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except Invalid as exc:
        errors = [FieldViolation(field=field, message=reason) for field, reason in exc.violations.items()]
        raise ProblemError(422, "validation_failed", "one or more fields are invalid", errors) from exc
    except IdempotencyKeyReused as exc:
        detail = "this Idempotency-Key was used for a different request"
        raise ProblemError(422, "idempotency_key_reused", detail) from exc
