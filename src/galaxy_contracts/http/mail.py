"""Clients of Mail Service (contracts/http/mail.openapi.yaml)."""

from __future__ import annotations

from typing import Any

from galaxy_contracts.http.base import ContractClient
from galaxy_contracts.models import Delivery, DeliveryList, DeliveryRequest, RenderedDelivery


class MailClient(ContractClient):
    """Service side: direct sends with an idempotency key."""

    service = "mail"

    async def send(
        self, to: str, template: str, params: dict[str, Any], *, idempotency_key: str, locale: str = "en"
    ) -> Delivery:
        body = DeliveryRequest.model_validate({"to": to, "template": template, "locale": locale, "params": params})
        return await self.call(
            Delivery,
            "POST",
            "/v1/deliveries",
            json=body.model_dump(mode="json"),
            headers={"Idempotency-Key": idempotency_key},
        )

    async def get(self, delivery_id: str) -> Delivery:
        return await self.call(Delivery, "GET", f"/v1/deliveries/{delivery_id}")


class OperatorClient(ContractClient):
    """Operator surface: rendered deliveries (operator token)."""

    service = "mail-operator"

    async def deliveries(self, **filters: str | int) -> list[RenderedDelivery]:
        result = await self.call(DeliveryList, "GET", "/v1/operator/deliveries", params=filters)
        return result.deliveries

    async def delivery(self, delivery_id: str) -> RenderedDelivery:
        return await self.call(RenderedDelivery, "GET", f"/v1/operator/deliveries/{delivery_id}")
