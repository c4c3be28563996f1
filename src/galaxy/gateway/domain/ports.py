"""The outbound I/O the gateway needs, as interfaces the adapters implement and tests swap.

Every call takes ``budget``: the seconds it may use (see ``model.downstream_budget``).
Implementations raise ``ServiceUnavailable`` when the other side is down or too slow and let
``galaxy_contracts.http.ApiError`` (a 4xx problem) through for the domain to interpret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from galaxy_contracts.models import Account, AccountUpdate, Challenge, Session

RawEntry = tuple[str, Mapping[str, str]]


class AuthSession(Protocol):
    async def start_challenge(self, email: str, locale: str | None, *, budget: float) -> Challenge: ...

    async def confirm(self, challenge_id: str, code: str, *, budget: float) -> Session: ...

    async def revoke(self, session_id: str, *, budget: float) -> None: ...


class LoginStarts(Protocol):
    async def count(self, client: str, window_seconds: int, *, budget: float) -> tuple[int, float]:
        """Count one StartLogin call of ``client`` (a client address) in its current fixed window of
        ``window_seconds``: the calls counted in that window, this one included, and the seconds until it ends.
        Shared by every gateway of the deployment."""
        ...


class Users(Protocol):
    async def get(self, user_id: str, *, budget: float) -> Account: ...

    async def update(self, user_id: str, update: AccountUpdate, *, budget: float) -> Account: ...


class Sessions(Protocol):
    async def user_of(self, session_id: str, *, budget: float) -> str | None:
        """The ``user_id`` of an active session, None when there is no such session."""
        ...


@dataclass(frozen=True)
class PushPage:
    """One atomic read of the push log: the ids of its oldest and newest retained entries (None when the
    stream is empty) and up to the asked number of entries strictly after the cursor, in order."""

    oldest: str | None
    newest: str | None
    entries: Sequence[RawEntry]


class PushLog(Protocol):
    async def page_after(self, after: str, count: int, *, budget: float) -> PushPage:
        """Up to ``count`` entries strictly after ``after`` and the retained window they were read from,
        in one transaction (nothing is added or trimmed between the three)."""
        ...
