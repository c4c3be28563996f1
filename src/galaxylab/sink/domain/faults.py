"""Injected SMTP faults: which transactions get a refusal, a dropped connection or a slow reply."""

from __future__ import annotations

import random
import secrets
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

Stage = Literal["rcpt", "data"]
MAX_FAULTS = 100
MAX_DELAY_MS = 60_000
DEFAULT_TEXT = {4: "4.3.0 Temporary failure injected by the lab", 5: "5.3.0 Permanent failure injected by the lab"}


class FaultSpec(BaseModel):
    """One fault. It applies at the end of DATA (``stage="data"``: the whole message) or to RCPT TO
    (``stage="rcpt"``: that recipient), to every transaction or only those for ``recipient``; it fires
    ``times`` times (``None``: until cleared), each time with ``probability`` (``seed`` makes the draws
    repeatable). Its effect: wait ``delay_ms``, then reply ``code`` + ``text``, drop the connection
    without a reply (``drop``), or, with neither, answer as usual."""

    model_config = ConfigDict(extra="forbid")

    stage: Stage = "data"
    code: int | None = Field(default=None, ge=400, le=599)
    text: str | None = Field(default=None, min_length=1, max_length=200, pattern=r"^[\x20-\x7e]+$")
    drop: bool = False
    delay_ms: int = Field(default=0, ge=0, le=MAX_DELAY_MS)
    recipient: str | None = Field(default=None, min_length=3, max_length=320, pattern=r"^[^\s<>]+@[^\s<>]+$")
    times: int | None = Field(default=None, ge=1, le=1_000_000)
    probability: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int | None = None

    @model_validator(mode="after")
    def _one_effect(self) -> FaultSpec:
        if self.code is not None and self.drop:
            raise ValueError("a fault either replies with code or drops the connection, not both")
        if self.text is not None and self.code is None:
            raise ValueError("text goes with code")
        if self.code is None and not self.drop and self.delay_ms == 0:
            raise ValueError("nothing to inject: give code, drop or delay_ms")
        return self


class Fault(FaultSpec):
    id: str
    remaining: int | None
    fired: int = 0
    _draws: random.Random = PrivateAttr()

    def model_post_init(self, context: object) -> None:
        self._draws = random.Random(self.seed)

    @property
    def reply_text(self) -> str:
        return self.text or DEFAULT_TEXT[(self.code or 500) // 100]

    def concerns(self, stage: Stage, recipients: list[str]) -> bool:
        if stage != self.stage:
            return False
        return self.recipient is None or self.recipient.lower() in (r.lower() for r in recipients)

    def fires(self) -> bool:
        """One draw (only when the probability is below 1, so a certain fault consumes no draws)."""
        return self.probability >= 1.0 or self._draws.random() < self.probability


class TooManyFaults(Exception):
    pass


class Faults:
    """Pending faults, tried in the order they were added; the first that concerns and fires wins."""

    def __init__(self, limit: int = MAX_FAULTS) -> None:
        self._faults: list[Fault] = []
        self._limit = limit

    def add(self, spec: FaultSpec) -> Fault:
        if len(self._faults) >= self._limit:
            raise TooManyFaults(f"at most {self._limit} pending faults")
        fault = Fault(id=f"f_{secrets.token_hex(8)}", remaining=spec.times, **spec.model_dump())
        self._faults.append(fault)
        return fault

    def take(self, stage: Stage, recipients: list[str]) -> Fault | None:
        """The fault this transaction gets (one use of it consumed), or ``None``."""
        for fault in self._faults:
            if fault.concerns(stage, recipients) and fault.fires():
                fault.fired += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                return fault
        return None

    def pending(self) -> list[Fault]:
        return list(self._faults)

    def remove(self, fault_id: str) -> bool:
        before = len(self._faults)
        self._faults = [f for f in self._faults if f.id != fault_id]
        return len(self._faults) < before

    def clear(self) -> None:
        self._faults.clear()
