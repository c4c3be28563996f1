"""The notification catalog with its push templates compiled once, in a sandbox."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from galaxy.notification.domain.errors import Undeliverable
from galaxy.notification.domain.model import DeadReason
from galaxy_contracts.streams import Catalog, CatalogType

TITLE_MAX = 200
BODY_MAX = 2000
_ELLIPSIS = "…"


class CatalogError(ValueError):
    """The catalog cannot be used (a push template does not compile)."""


class Templates:
    """Every intent type of the catalog; push title/body rendered over ``params`` + ``recipient``.

    Undefined names are errors (``StrictUndefined``): a template that needs what the intent lacks is
    dead-lettered as ``render_failed`` rather than sent with a blank.
    """

    def __init__(self, catalog: Catalog) -> None:
        self._types = dict(catalog.types)
        env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
        self._push: dict[str, tuple[jinja2.Template, jinja2.Template]] = {}
        for name, spec in self._types.items():
            if spec.push is not None:
                try:
                    self._push[name] = (env.from_string(spec.push.title), env.from_string(spec.push.body))
                except jinja2.TemplateSyntaxError as exc:
                    raise CatalogError(f"catalog type {name}: push template line {exc.lineno}: {exc.message}") from None

    def spec(self, intent_type: str) -> CatalogType | None:
        return self._types.get(intent_type)

    def render_push(self, intent_type: str, context: Mapping[str, Any]) -> tuple[str, str]:
        """Title and body, cut to what the gateway:push schema allows."""
        title, body = self._push[intent_type]
        try:
            return _cut(title.render(context), TITLE_MAX), _cut(body.render(context), BODY_MAX)
        except jinja2.TemplateError as exc:  # SecurityError and UndefinedError included
            raise Undeliverable(DeadReason.RENDER_FAILED, f"push template: {type(exc).__name__}: {exc}") from None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + _ELLIPSIS
