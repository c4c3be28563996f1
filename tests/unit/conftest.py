"""Fixtures every in-process test may use."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.common.certs import TlsFiles, write_tls


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    """The lab's CA and a server certificate for 127.0.0.1, as files."""
    return write_tls(tmp_path / "lab")


@pytest.fixture
def other_ca(tmp_path: Path) -> TlsFiles:
    """Another lab's CA (and a certificate it signed): what a verifying peer must not trust."""
    return write_tls(tmp_path / "other", lab="other")
