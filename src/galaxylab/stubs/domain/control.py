"""What the control API steers: recorded requests, scripted responses and outages."""

from __future__ import annotations

import re
import secrets
from collections import deque
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_RECORDED = 10_000
MAX_SCRIPTS = 100
MAX_DELAY_SECONDS = 60.0

OutageMode = Literal["unavailable", "reset"]


class RecordedRequest(BaseModel):
    """One request the stub received (never its Authorization value)."""

    seq: int
    time: datetime
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None
    caller: str | None
    status: int | None = None


class Recorder:
    """The latest ``limit`` requests, oldest first."""

    def __init__(self, limit: int = MAX_RECORDED) -> None:
        self._entries: deque[RecordedRequest] = deque(maxlen=limit)
        self._seq = 0

    def record(self, **fields: Any) -> RecordedRequest:
        self._seq += 1
        entry = RecordedRequest(seq=self._seq, time=datetime.now(UTC), **fields)
        self._entries.append(entry)
        return entry

    def entries(self, path_prefix: str | None = None) -> list[RecordedRequest]:
        return [e for e in self._entries if path_prefix is None or e.path.startswith(path_prefix)]

    def clear(self) -> None:
        self._entries.clear()


class ScriptSpec(BaseModel):
    """The next ``times`` requests matching ``method`` and the ``path`` regex get this answer.

    Without ``status`` the request is only delayed and then handled as usual.
    """

    model_config = ConfigDict(extra="forbid")

    method: str = Field(pattern=r"^[A-Za-z]{1,16}$")
    path: str = Field(min_length=1, max_length=500)
    times: int = Field(default=1, ge=1, le=1000)
    status: int | None = Field(default=None, ge=200, le=599)
    body: Any = None
    headers: dict[str, str] = Field(default_factory=dict, max_length=32)
    delay_seconds: float = Field(default=0.0, ge=0.0, le=MAX_DELAY_SECONDS)

    @field_validator("method")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("path")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from exc
        return value


class Script(ScriptSpec):
    id: str
    remaining: int

    def matches(self, method: str, path: str) -> bool:
        return self.remaining > 0 and self.method == method.upper() and re.fullmatch(self.path, path) is not None


class TooManyScripts(Exception):
    pass


class Scripts:
    """Pending scripted responses, consumed first-registered first."""

    def __init__(self, limit: int = MAX_SCRIPTS) -> None:
        self._scripts: list[Script] = []
        self._limit = limit

    def add(self, spec: ScriptSpec) -> Script:
        if len(self._scripts) >= self._limit:
            raise TooManyScripts(f"at most {self._limit} pending scripted responses")
        script = Script(id=f"r_{secrets.token_hex(8)}", remaining=spec.times, **spec.model_dump())
        self._scripts.append(script)
        return script

    def take(self, method: str, path: str) -> Script | None:
        """The first matching script, one use consumed; ``None`` when the default behaviour applies."""
        for script in self._scripts:
            if script.matches(method, path):
                script.remaining -= 1
                if script.remaining == 0:
                    self._scripts.remove(script)
                return script
        return None

    def pending(self) -> list[Script]:
        return list(self._scripts)

    def clear(self) -> None:
        self._scripts.clear()


class ControlState:
    """Everything the control API can see or change, shared by both kinds of stub."""

    def __init__(self) -> None:
        self.recorder = Recorder()
        self.scripts = Scripts()
        self.outage: OutageMode | None = None

    def reset(self) -> None:
        self.recorder.clear()
        self.scripts.clear()
        self.outage = None
