"""What the gatewayauthsessionusermail suite knows of a registration: the login, its code and stream positions."""

from __future__ import annotations

import json
from dataclasses import dataclass

from galaxy_contracts.gateway import pb
from tests.harness.login import StartedLogin
from tests.harness.redis import StreamEntry


@dataclass(frozen=True)
class Registration:
    started: StartedLogin
    session: pb.ConfirmLoginResponse
    intents_before: str
    mail_before: str

    @property
    def email(self) -> str:
        return self.started.email

    @property
    def user_id(self) -> str:
        return self.session.user_id


def mentions(entry: StreamEntry, *needles: str) -> bool:
    """Any field of the entry (and any value in a JSON-object field) holds one of ``needles``."""
    texts = list(entry.fields.values())
    for value in entry.fields.values():
        try:
            decoded = json.loads(value)
        except ValueError:
            continue
        if isinstance(decoded, dict):
            texts += [json.dumps(v) for v in decoded.values()]
    return any(needle.lower() in text.lower() for text in texts for needle in needles)
