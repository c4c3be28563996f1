"""Templates as Jinja2 files shipped with the package: ``templates/<locale>/<name>.<part>.j2``.

Parts are ``subject`` and ``txt`` (required) and ``html`` (optional); each falls back to ``en`` on its
own when the locale has no translation of it. Rendering is sandboxed, undefined names are errors, and
only the HTML part is autoescaped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import PackageLoader, StrictUndefined, TemplateError, TemplateNotFound, select_autoescape
from jinja2.sandbox import SandboxedEnvironment

from galaxy.mail.domain.errors import RenderFailed, UnknownTemplate
from galaxy.mail.domain.model import DEFAULT_LOCALE, Rendered

PACKAGE = "galaxy.mail"
FOLDER = "templates"


class JinjaTemplates:
    def __init__(self, environment: SandboxedEnvironment | None = None) -> None:
        self._env = environment or SandboxedEnvironment(
            loader=PackageLoader(PACKAGE, FOLDER),
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def names(self) -> set[str]:
        """Every template that has its ``en`` subject."""
        suffix = ".subject.j2"
        prefix = f"{DEFAULT_LOCALE}/"
        listed = self._env.list_templates()
        return {n[len(prefix) : -len(suffix)] for n in listed if n.startswith(prefix) and n.endswith(suffix)}

    def render(self, template: str, locale: str, context: Mapping[str, Any]) -> Rendered:
        subject = self._part(template, "subject", locale, context)
        text = self._part(template, "txt", locale, context)
        if subject is None or text is None:
            raise UnknownTemplate(template)
        return Rendered(subject=subject, text_body=text, html_body=self._part(template, "html", locale, context))

    def _part(self, template: str, part: str, locale: str, context: Mapping[str, Any]) -> str | None:
        for candidate in dict.fromkeys((locale, DEFAULT_LOCALE)):
            try:
                loaded = self._env.get_template(f"{candidate}/{template}.{part}.j2")
            except TemplateNotFound:
                continue
            try:
                return loaded.render(context)
            except TemplateError as exc:  # undefined name, sandbox refusal, bad filter argument
                raise RenderFailed(f"{template} ({candidate}, {part}): {type(exc).__name__}") from exc
        return None
