"""Mail v1 service routes (contracts/http/mail.openapi.yaml): deliveries are recorded, not sent."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from galaxy.common.auth import ServiceTokens
from galaxy.common.problems import ProblemError
from galaxy_contracts.models import DELIVERY_ID_PATTERN, DeliveryRequest, FieldViolation
from galaxylab.stubs.domain.deliveries import DeliveryNotFound, DeliveryStore
from galaxylab.stubs.transport.common import model_response, path_id, read_body

IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{8,128}")


class MailApi:
    def __init__(self, store: DeliveryStore, tokens: ServiceTokens) -> None:
        self.store = store
        self.tokens = tokens

    def routes(self) -> list[Route]:
        return [
            Route("/v1/deliveries", self.create, methods=["POST"]),
            Route("/v1/deliveries/{delivery_id}", self.get, methods=["GET"]),
        ]

    async def create(self, request: Request) -> Response:
        caller = self.tokens.caller(request)
        key = idempotency_key(request)
        body = await read_body(request, DeliveryRequest)
        recorded, created = self.store.create(key, body, caller)
        return model_response(recorded.delivery, 202 if created else 200)

    async def get(self, request: Request) -> Response:
        self.tokens.caller(request)
        delivery_id = path_id(request, "delivery_id", DELIVERY_ID_PATTERN)
        try:
            return model_response(self.store.get(delivery_id).delivery)
        except DeliveryNotFound as exc:
            raise ProblemError(404, "not_found", "no such delivery") from exc


def idempotency_key(request: Request) -> str:
    key = request.headers.get("idempotency-key")
    if key is None or IDEMPOTENCY_KEY.fullmatch(key) is None:
        message = "required: 8-128 characters of A-Z a-z 0-9 . _ : -"
        errors = [FieldViolation(field="Idempotency-Key", message=message)]
        raise ProblemError(422, "validation_failed", "a valid Idempotency-Key header is required", errors)
    return key
