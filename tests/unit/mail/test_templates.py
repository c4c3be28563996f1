"""Templates: every catalog e-mail and the direct ones exist in ``en``; per-locale text with fallback to
``en``; the sandbox; HTML autoescaped, text not."""

from __future__ import annotations

import pytest
from jinja2 import DictLoader
from jinja2.sandbox import SandboxedEnvironment

from galaxy.mail.adapters.templates import JinjaTemplates
from galaxy.mail.domain.errors import RenderFailed, UnknownTemplate
from galaxy.mail.domain.templates import LOGIN_CODE, context, required_params
from galaxy_contracts import streams

TEMPLATES = JinjaTemplates()
PARAMS = {
    "code": "123456",
    "expires_in_minutes": 10,
    "session_id": "s_1",
    "starts_at": "02:00",
    "duration_minutes": "30",
    "week": "W22",
    "highlights": ["one", "two"],
}


def render(template: str, locale: str, **params: object) -> tuple[str, str, str | None]:
    rendered = TEMPLATES.render(template, locale, context("ada@example.com", locale, {**PARAMS, **params}))
    return rendered.subject, rendered.text_body, rendered.html_body


def test_every_catalog_email_template_is_known() -> None:
    catalog = {streams.catalog()["types"][t]["email"]["template"] for t in streams.email_types()}

    assert catalog | {LOGIN_CODE} == set(required_params())
    assert set(required_params()) <= TEMPLATES.names()


@pytest.mark.parametrize("template", sorted(required_params()))
@pytest.mark.parametrize("locale", ["en", "de", "fr", "es"])
def test_every_template_renders_in_every_locale_with_all_three_parts(template: str, locale: str) -> None:
    subject, text, html = render(template, locale)

    assert subject
    assert "\n" not in subject.strip()
    assert text.strip()
    assert html is not None
    assert f'<html lang="{locale}">' in html


def test_the_locale_is_used_where_translated() -> None:
    assert render(LOGIN_CODE, "de")[0] == "Ihr Galaxy-Anmeldecode: 123456"
    assert render(LOGIN_CODE, "fr")[0] == "Votre code de connexion Galaxy : 123456"


def test_a_missing_translation_falls_back_to_en_part_by_part() -> None:
    assert render(LOGIN_CODE, "es")[0] == render(LOGIN_CODE, "en")[0]
    subject, text, html = render("account.welcome", "fr")  # fr has subject and text, no HTML
    assert subject == "Bienvenue sur Galaxy"
    assert "bienvenue" in text
    assert html is not None
    assert "welcome to Galaxy" in html


def test_html_is_autoescaped_and_text_is_not() -> None:
    _, text, html = render("account.welcome", "en", display_name="<script>alert(1)</script>")

    assert "Hello <script>alert(1)</script>," in text
    assert html is not None
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html


def test_a_list_param_renders_as_items() -> None:
    _, text, html = render("digest.weekly", "en")

    assert "- one\n- two" in text
    assert html is not None
    assert "<li>one</li>" in html


def test_without_a_display_name_the_address_greets() -> None:
    assert "Hello ada@example.com," in render("account.welcome", "en")[1]


def test_an_unknown_template_is_refused() -> None:
    with pytest.raises(UnknownTemplate):
        TEMPLATES.render("no.such", "en", context("a@b.c", "en", {}))


def test_the_sandbox_refuses_unsafe_access() -> None:
    env = SandboxedEnvironment(
        loader=DictLoader({"en/evil.subject.j2": "{{ params.__class__.__mro__ }}", "en/evil.txt.j2": "x"})
    )
    templates = JinjaTemplates(env)

    with pytest.raises(RenderFailed):
        templates.render("evil", "en", context("a@b.c", "en", {}))


def test_an_undefined_name_is_a_render_failure_not_an_empty_string() -> None:
    with pytest.raises(RenderFailed):
        TEMPLATES.render(LOGIN_CODE, "en", context("a@b.c", "en", {"expires_in_minutes": 1}))


def test_the_name_notification_service_sends_greets() -> None:
    recipient = {"display_name": "Grace <H>", "email": "ada@example.com", "locale": "en"}
    _, text, html = render("account.welcome", "en", recipient=recipient)

    assert "Hello Grace <H>," in text
    assert html is not None
    assert "Hello Grace &lt;H&gt;," in html
