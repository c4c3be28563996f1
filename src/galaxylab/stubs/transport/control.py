"""The control API under ``/_control/``: the lab's handle on a stub (lab token only)."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from galaxy.common.auth import ServiceTokens, bearer_token
from galaxy.common.problems import ProblemError, read_json
from galaxylab.stubs.domain.accounts import AccountConflict, AccountSeed, AccountStore
from galaxylab.stubs.domain.control import ControlState, OutageMode, ScriptSpec, TooManyScripts
from galaxylab.stubs.domain.deliveries import DeliveryStore
from galaxylab.stubs.transport.common import model_response

PREFIX = "/_control"
log = logging.getLogger(__name__)


class DownRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: OutageMode = "unavailable"


class ControlApi:
    def __init__(
        self,
        kind: str,
        state: ControlState,
        tokens: ServiceTokens,
        lab_token: str,
        accounts: AccountStore | None = None,
        deliveries: DeliveryStore | None = None,
    ) -> None:
        self.kind = kind
        self.state = state
        self.tokens = tokens
        self._lab = lab_token.encode()
        self.accounts = accounts
        self.deliveries = deliveries

    def routes(self) -> list[Route]:
        routes = [
            Route(f"{PREFIX}/status", self.status, methods=["GET"]),
            Route(f"{PREFIX}/requests", self.requests, methods=["GET"]),
            Route(f"{PREFIX}/requests", self.clear_requests, methods=["DELETE"]),
            Route(f"{PREFIX}/responses", self.scripts, methods=["GET"]),
            Route(f"{PREFIX}/responses", self.add_script, methods=["POST"]),
            Route(f"{PREFIX}/responses", self.clear_scripts, methods=["DELETE"]),
            Route(f"{PREFIX}/down", self.down, methods=["POST"]),
            Route(f"{PREFIX}/up", self.up, methods=["POST"]),
            Route(f"{PREFIX}/reset", self.reset, methods=["POST"]),
        ]
        if self.accounts is not None:
            routes += [
                Route(f"{PREFIX}/accounts", self.list_accounts, methods=["GET"]),
                Route(f"{PREFIX}/accounts", self.seed_account, methods=["POST"]),
            ]
        if self.deliveries is not None:
            routes.append(Route(f"{PREFIX}/deliveries", self.list_deliveries, methods=["GET"]))
        return routes

    def authorize(self, request: Request) -> None:
        """401 without a known token, 403 for a service token that is not the lab's."""
        presented = bearer_token(request)
        if presented is None:
            raise ProblemError(401, "unauthorized", "missing bearer lab token")
        if hmac.compare_digest(self._lab, presented.encode()):
            return
        try:
            self.tokens.caller(request)
        except ProblemError:
            raise ProblemError(401, "unauthorized", "lab token not accepted") from None
        raise ProblemError(403, "forbidden", "the control API takes the lab token only")

    async def status(self, request: Request) -> Response:
        self.authorize(request)
        return JSONResponse(self._status())

    async def requests(self, request: Request) -> Response:
        self.authorize(request)
        entries = self.state.recorder.entries(request.query_params.get("path_prefix"))
        return JSONResponse({"requests": [e.model_dump(mode="json") for e in entries]})

    async def clear_requests(self, request: Request) -> Response:
        self.authorize(request)
        self.state.recorder.clear()
        return Response(status_code=204)

    async def scripts(self, request: Request) -> Response:
        self.authorize(request)
        return JSONResponse({"responses": [s.model_dump(mode="json") for s in self.state.scripts.pending()]})

    async def add_script(self, request: Request) -> Response:
        self.authorize(request)
        spec = await read_json(request, ScriptSpec)
        try:
            script = self.state.scripts.add(spec)
        except TooManyScripts as exc:
            raise ProblemError(409, "too_many_scripts", str(exc)) from exc
        log.info(
            "scripted %s %s x%d status=%s delay=%s", spec.method, spec.path, spec.times, spec.status, spec.delay_seconds
        )
        return model_response(script, 201)

    async def clear_scripts(self, request: Request) -> Response:
        self.authorize(request)
        self.state.scripts.clear()
        return Response(status_code=204)

    async def down(self, request: Request) -> Response:
        self.authorize(request)
        spec = await read_json(request, DownRequest) if await request.body() else DownRequest()
        self.state.outage = spec.mode
        log.info("down (%s)", spec.mode)
        return JSONResponse(self._status())

    async def up(self, request: Request) -> Response:
        self.authorize(request)
        self.state.outage = None
        log.info("up")
        return JSONResponse(self._status())

    async def reset(self, request: Request) -> Response:
        self.authorize(request)
        self.state.reset()
        for store in (self.accounts, self.deliveries):
            if store is not None:
                store.clear()
        log.info("reset")
        return Response(status_code=204)

    async def list_accounts(self, request: Request) -> Response:
        self.authorize(request)
        assert self.accounts is not None
        return JSONResponse({"accounts": [a.model_dump(mode="json") for a in self.accounts.all()]})

    async def seed_account(self, request: Request) -> Response:
        self.authorize(request)
        assert self.accounts is not None
        seed = await read_json(request, AccountSeed)
        try:
            return model_response(self.accounts.seed(seed), 201)
        except AccountConflict as exc:
            raise ProblemError(409, "conflict", str(exc)) from exc

    async def list_deliveries(self, request: Request) -> Response:
        self.authorize(request)
        assert self.deliveries is not None
        return JSONResponse({"deliveries": [d.as_json() for d in self.deliveries.all()]})

    def _status(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "outage": self.state.outage,
            "recorded": len(self.state.recorder.entries()),
            "pending_responses": len(self.state.scripts.pending()),
        }
