"""galaxylab.secrets: per-boundary secrets, created only when missing, never printed."""

from __future__ import annotations

import hashlib
import json
import stat
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from galaxylab import secrets
from galaxylab.plan import CALLERS, REDIS_USERS, SECRET_FILES


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def ensure(root: Path, *boundaries: str, bundles: list[tuple[str, list[str]]] | None = None) -> dict[str, object]:
    return secrets.ensure(root, list(boundaries), bundles or [])


def test_every_secret_file_is_created_0600_in_a_0700_directory(tmp_path: Path) -> None:
    ensure(tmp_path / "s", "alpha")
    directory = tmp_path / "s" / "alpha"
    assert mode(directory) == 0o700
    assert sorted(p.name for p in directory.iterdir()) == sorted(SECRET_FILES)
    assert {mode(p) for p in directory.iterdir()} == {0o600}


def test_caller_token_files_hold_their_entry_of_service_tokens(tmp_path: Path) -> None:
    ensure(tmp_path, "alpha")
    tokens = json.loads((tmp_path / "alpha" / "service-tokens.json").read_text())
    assert sorted(tokens) == sorted(CALLERS)
    assert len(set(tokens.values())) == len(CALLERS)
    for caller in CALLERS:
        assert (tmp_path / "alpha" / f"{caller}.token").read_text().strip() == tokens[caller]


def test_the_signing_key_matches_token_keys_and_kid(tmp_path: Path) -> None:
    result = ensure(tmp_path, "alpha")
    directory = tmp_path / "alpha"
    key = serialization.load_pem_private_key((directory / "signing-key.pem").read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    kid = (directory / "signing-kid").read_text().strip()
    assert result["kids"] == {"alpha": kid}
    public = serialization.load_pem_public_key(json.loads((directory / "token-keys.json").read_text())[kid].encode())
    assert isinstance(public, Ed25519PublicKey)
    public.verify(key.sign(b"payload"), b"payload")


def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    first = ensure(tmp_path, "alpha", bundles=[("h", ["alpha"])])
    before = {p: p.read_bytes() for p in (tmp_path / "alpha").iterdir()}
    second = ensure(tmp_path, "alpha", bundles=[("h", ["alpha"])])
    assert first["changed"] is True
    assert second == {**first, "changed": False, "created": [], "bundles_changed": []}
    assert {p: p.read_bytes() for p in (tmp_path / "alpha").iterdir()} == before


def test_only_missing_files_are_recreated_from_what_exists(tmp_path: Path) -> None:
    ensure(tmp_path, "alpha")
    directory = tmp_path / "alpha"
    token = (directory / "gateway.token").read_text()
    key = (directory / "signing-key.pem").read_bytes()
    (directory / "gateway.token").unlink()
    (directory / "token-keys.json").unlink()
    result = ensure(tmp_path, "alpha")
    assert sorted(result["created"]) == ["alpha/gateway.token", "alpha/token-keys.json"]  # type: ignore[arg-type]
    assert (directory / "gateway.token").read_text() == token
    assert (directory / "signing-key.pem").read_bytes() == key


def test_boundaries_get_different_secrets(tmp_path: Path) -> None:
    result = ensure(tmp_path, "alpha", "beta")
    kids = result["kids"]
    assert isinstance(kids, dict)
    assert kids["alpha"] != kids["beta"]
    assert (tmp_path / "alpha/lab.token").read_text() != (tmp_path / "beta/lab.token").read_text()


def test_a_bundle_holds_the_host_boundaries_with_their_modes(tmp_path: Path) -> None:
    result = ensure(tmp_path, "alpha", "beta", bundles=[("h1", ["beta"])])
    bundles = result["bundles"]
    assert isinstance(bundles, dict)
    bundle = Path(bundles["h1"])
    assert mode(bundle) == 0o600
    with tarfile.open(bundle) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert set(members) == {"beta", *(f"beta/{name}" for name in SECRET_FILES)}
    assert members["beta"].mode == 0o700
    assert {m.mode for name, m in members.items() if name != "beta"} == {0o600}


def test_a_bundle_is_rewritten_only_when_its_content_changes(tmp_path: Path) -> None:
    ensure(tmp_path, "alpha", bundles=[("h", ["alpha"])])
    assert ensure(tmp_path, "alpha", bundles=[("h", ["alpha"])])["bundles_changed"] == []
    (tmp_path / "alpha" / "operator.token").unlink()
    assert ensure(tmp_path, "alpha", bundles=[("h", ["alpha"])])["bundles_changed"] == ["h"]


def test_a_bundle_of_an_unknown_boundary_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not among --boundary"):
        ensure(tmp_path, "alpha", bundles=[("h", ["beta"])])


def test_the_cli_prints_json_without_any_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = secrets.main(["ensure", str(tmp_path), "--boundary", "alpha", "beta", "--bundle", "h=alpha,beta"])
    out = capsys.readouterr().out
    assert code == 0
    assert json.loads(out)["changed"] is True
    for path in tmp_path.glob("*/*"):
        if path.name != "signing-kid":
            for line in path.read_text().splitlines():
                if len(line) > 20 and "KEY-----" not in line:
                    assert line not in out, path.name


def test_every_redis_user_gets_its_own_password_and_only_its_digest_leaves_the_module(tmp_path: Path) -> None:
    result = ensure(tmp_path, "alpha")
    passwords = {user: (tmp_path / "alpha" / f"redis-{user}.password").read_text().strip() for user in REDIS_USERS}
    assert len(set(passwords.values())) == len(REDIS_USERS)
    assert all(len(password) >= 32 for password in passwords.values())
    hashes = secrets.redis_password_hashes(tmp_path / "alpha")
    assert hashes == {user: hashlib.sha256(p.encode()).hexdigest() for user, p in passwords.items()}
    assert not [p for p in passwords.values() if p in json.dumps(result)]
