"""What the authsessionmail suite knows: Mail's lab settings, faults it adds to the sink, deliveries it follows."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from galaxy_contracts.http import MailClient, OperatorClient
from galaxy_contracts.models import Delivery, RenderedDelivery
from tests.harness.clients import LAB_CALLER
from tests.harness.manifest import Manifest
from tests.harness.secrets import LabSecrets
from tests.harness.sink import Fault, SinkError, SmtpSink
from tests.harness.waits import eventually_async

MAIL = "mail"
SINK = "smtp-sink"
TEMPLATE = "auth.login_code"
FINAL = frozenset({"sent", "recorded", "failed"})
# How long past its due time a retry may come (Mail's poll interval, a busy 2-core host).
RETRY_SLACK_SECONDS = 3.0
# The sink stamps an attempt a moment before Mail stamps it (and computes the retry from that).
CLOCK_SLACK_SECONDS = 0.2


@dataclass(frozen=True)
class MailSettings:
    """Mail's lab values (src/galaxylab/plan/components.yaml, overridable per boundary)."""

    retry_schedule: tuple[float, ...]
    lifetime: float
    from_address: str

    @classmethod
    def of(cls, manifest: Manifest) -> MailSettings:
        def setting(name: str) -> str:
            value = manifest.setting(MAIL, name)
            assert value, f"{manifest.boundary}: mail has no {name} in the manifest"
            return value

        schedule = tuple(float(s) for s in setting("RETRY_SCHEDULE_SECONDS").split(",") if s.strip())
        return cls(schedule, float(setting("DELIVERY_LIFETIME_SECONDS")), setting("FROM_ADDRESS"))

    def delay_before(self, attempt: int) -> float:
        """The wait before attempt ``attempt`` (2, 3, ...): the schedule's entry, its last one repeating."""
        return self.retry_schedule[min(attempt - 2, len(self.retry_schedule) - 1)]


def sink_client(manifest: Manifest, secrets: LabSecrets) -> SmtpSink:
    """The sink's API, with a timeout for a sink busy with the disruptive scenarios' thousands of messages."""
    api, token = manifest.component(SINK).admin_url, secrets.service_token(LAB_CALLER)
    return SmtpSink(api, token, timeout=30.0, verify=secrets.verify())


class SinkFaults:
    """Faults added through it are removed by :meth:`remove_all` (the ``faults`` fixture's teardown)."""

    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink
        self._added: list[Fault] = []

    async def add(self, **spec: Any) -> Fault:
        fault = await self._sink.fault(**spec)
        self._added.append(fault)
        return fault

    async def remove(self, fault: Fault) -> None:
        with contextlib.suppress(SinkError):
            await self._sink.remove_fault(fault.id)
        self._added.remove(fault)

    async def remove_all(self) -> None:
        for fault in self._added:
            with contextlib.suppress(SinkError):  # fired its `times` already, or cleared
                await self._sink.remove_fault(fault.id)
        self._added.clear()


async def the_delivery(operator: OperatorClient, email: str, *, within: float = 10.0) -> RenderedDelivery:
    """The one ``auth.login_code`` delivery to ``email`` (waiting for it), as the operator surface shows it."""

    async def one() -> RenderedDelivery:
        found = await operator.deliveries(to=email, template=TEMPLATE)
        assert len(found) == 1, f"{len(found)} {TEMPLATE} deliveries to {email}"
        return found[0]

    return await eventually_async(one, within=within, what=f"the {TEMPLATE} delivery to {email}")


async def final(mail: MailClient, delivery_id: str, *, within: float) -> Delivery:
    """The delivery once it has ended (sent, recorded or failed)."""

    async def ended() -> Delivery:
        delivery = await mail.get(delivery_id)
        assert delivery.status in FINAL, f"{delivery_id} is {delivery.status} after {delivery.attempts} attempts"
        return delivery

    return await eventually_async(ended, within=within, what=f"delivery {delivery_id} ended", interval=0.2)
