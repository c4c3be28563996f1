"""What operators and the lab see: gRPC health, the admin port's /healthz and /metrics, graceful stop."""

from __future__ import annotations

import re

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from galaxy_contracts.gateway import pb
from tests.harness.rpc import failure
from tests.harness.waits import until_async
from tests.unit.gateway.helpers import Lab

SERVICES = ["", "galaxy.gateway.v1.GatewayService"]
WITHIN = 5.0


async def health_status(lab: Lab, service: str) -> int:
    stub = health_pb2_grpc.HealthStub(lab.channel)
    response = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
    return int(response.status)


@pytest.mark.parametrize("service", SERVICES, ids=["overall", "gateway"])
async def test_health_is_serving_once_redis_answers(lab: Lab, service: str) -> None:
    async def serving() -> bool:
        return await health_status(lab, service) == health_pb2.HealthCheckResponse.SERVING

    await until_async(serving, within=WITHIN, what="SERVING")


async def test_health_follows_redis_down_and_back(lab: Lab) -> None:
    async def status_is(expected: int) -> bool:
        return await health_status(lab, "") == expected

    await until_async(lambda: status_is(health_pb2.HealthCheckResponse.SERVING), within=WITHIN, what="SERVING")
    lab.server.connected = False
    await until_async(lambda: status_is(health_pb2.HealthCheckResponse.NOT_SERVING), within=WITHIN, what="NOT_SERVING")
    lab.server.connected = True
    await until_async(lambda: status_is(health_pb2.HealthCheckResponse.SERVING), within=WITHIN, what="SERVING again")


async def admin_get(lab: Lab, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{lab.running.admin_port}", timeout=5) as client:
        return await client.get(path)


async def test_healthz_is_ready_when_redis_and_the_grpc_listener_are_up(lab: Lab) -> None:
    response = await admin_get(lab, "/healthz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"redis": "up", "grpc": "up", "push_reader": "up"}


async def test_healthz_is_503_naming_redis_when_it_is_down(lab: Lab) -> None:
    lab.server.connected = False

    response = await admin_get(lab, "/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["redis"].startswith("down")


async def test_healthz_is_503_when_the_grpc_listener_is_gone(lab: Lab) -> None:
    await lab.running.server.stop(0)

    response = await admin_get(lab, "/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["grpc"].startswith("down")


def sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_rpcs_by_method_and_code_with_latency(lab: Lab) -> None:
    method = "/galaxy.gateway.v1.GatewayService/ConfirmLogin"
    before = (await admin_get(lab, "/metrics")).text
    await lab.stub.StartLogin(pb.StartLoginRequest(email="ada@example.com"), timeout=5)
    await failure(lab.stub.ConfirmLogin(pb.ConfirmLoginRequest(challenge_id="bad", code="1"), timeout=5))
    await failure(lab.stub.ConfirmLogin(pb.ConfirmLoginRequest(challenge_id="c_" + "0" * 32, code="123456")))

    after = (await admin_get(lab, "/metrics")).text

    counter = "galaxy_grpc_requests_total"
    start = "/galaxy.gateway.v1.GatewayService/StartLogin"
    assert sample(after, counter, method=start, code="OK") == sample(before, counter, method=start, code="OK") + 1
    for code in ("INVALID_ARGUMENT", "NOT_FOUND"):
        assert sample(after, counter, method=method, code=code) == sample(before, counter, method=method, code=code) + 1
    count = "galaxy_grpc_request_seconds_count"
    assert sample(after, count, method=method) == sample(before, count, method=method) + 2
    assert re.search(
        r'galaxy_grpc_request_seconds_bucket\{.*method="/galaxy.gateway.v1.GatewayService/StartLogin"', after
    )


async def test_an_unexpected_error_is_a_plain_internal_status(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("secret-looking internals")

    monkeypatch.setattr(lab.authsession, "answer", broken)

    error = await failure(lab.stub.StartLogin(pb.StartLoginRequest(email="ada@example.com"), timeout=5))

    assert error.code() == grpc.StatusCode.INTERNAL
    assert "secret-looking" not in error.details()
    assert "Traceback" not in error.details()
