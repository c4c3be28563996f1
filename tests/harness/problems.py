"""HTTP errors as a client reads them: RFC 9457 problem+json with the project's stable ``code``."""

from __future__ import annotations

from typing import Any

import httpx


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """``response`` is a problem+json of ``status`` and ``code``; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert {"type", "title"} <= set(body)
    return body
