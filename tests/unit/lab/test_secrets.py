"""galaxylab.secrets: per-boundary secrets, created only when missing, never printed."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import stat
import tarfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import ExtendedKeyUsageOID

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


# --- TLS: the lab's CA and one certificate per host ------------------------------------------------------

TLS_HOSTS = {"lab-a": "10.0.0.1", "lab-b": "10.0.0.2"}


def load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_without_tls_hosts_no_ca_or_certificate_is_made(tmp_path: Path) -> None:
    ensure(tmp_path, "alpha", bundles=[("h", ["alpha"])])
    assert not (tmp_path / ".tls").exists()


def test_each_host_gets_a_certificate_for_its_address_and_name_signed_by_the_labs_ca(tmp_path: Path) -> None:
    secrets.ensure(tmp_path, ["alpha"], [], TLS_HOSTS)
    directory = tmp_path / ".tls"
    ca = load_cert(directory / "ca.pem")
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for host, address in TLS_HOSTS.items():
        cert = load_cert(directory / f"{host}.pem")
        cert.verify_directly_issued_by(ca)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address(address)]
        assert sans.get_values_for_type(x509.DNSName) == [host]
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
        key = serialization.load_pem_private_key((directory / f"{host}.key").read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        assert key.curve.name == "secp256r1"
        assert key.public_key() == cert.public_key()


def test_tls_files_are_0600_in_a_0700_directory(tmp_path: Path) -> None:
    secrets.ensure(tmp_path, ["alpha"], [], TLS_HOSTS)
    assert mode(tmp_path / ".tls") == 0o700
    assert {mode(p) for p in (tmp_path / ".tls").iterdir()} == {0o600}


def test_a_second_run_keeps_the_ca_and_certificates(tmp_path: Path) -> None:
    secrets.ensure(tmp_path, ["alpha"], [("lab-a", ["alpha"])], TLS_HOSTS)
    before = {p.name: p.read_bytes() for p in (tmp_path / ".tls").iterdir()}
    again = secrets.ensure(tmp_path, ["alpha"], [("lab-a", ["alpha"])], TLS_HOSTS)
    assert (again["created"], again["bundles_changed"]) == ([], [])
    assert {p.name: p.read_bytes() for p in (tmp_path / ".tls").iterdir()} == before
    assert secrets.tls_current(tmp_path, TLS_HOSTS)


def test_a_host_whose_address_changed_gets_a_new_certificate_and_the_others_keep_theirs(tmp_path: Path) -> None:
    secrets.ensure(tmp_path, ["alpha"], [], TLS_HOSTS)
    kept = (tmp_path / ".tls" / "lab-b.pem").read_bytes()
    moved = {**TLS_HOSTS, "lab-a": "10.0.0.9"}
    assert not secrets.tls_current(tmp_path, moved)
    result = secrets.ensure(tmp_path, ["alpha"], [], moved)
    assert result["created"] == [".tls/lab-a.pem", ".tls/lab-a.key"]
    assert (tmp_path / ".tls" / "lab-b.pem").read_bytes() == kept
    sans = load_cert(tmp_path / ".tls" / "lab-a.pem").extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert sans.value.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.9")]


def test_a_new_ca_reissues_every_host_certificate(tmp_path: Path) -> None:
    secrets.ensure(tmp_path, ["alpha"], [], TLS_HOSTS)
    (tmp_path / ".tls" / "ca.key").unlink()
    result = secrets.ensure(tmp_path, ["alpha"], [], TLS_HOSTS)
    assert sorted(result["created"]) == sorted(  # type: ignore[arg-type]
        [".tls/ca.pem", ".tls/ca.key", *(f".tls/{h}.{ext}" for h in TLS_HOSTS for ext in ("pem", "key"))]
    )
    ca = load_cert(tmp_path / ".tls" / "ca.pem")
    for host in TLS_HOSTS:
        load_cert(tmp_path / ".tls" / f"{host}.pem").verify_directly_issued_by(ca)


def test_a_hosts_bundle_holds_the_ca_and_its_own_pair_never_the_ca_key(tmp_path: Path) -> None:
    secrets.ensure(tmp_path, ["alpha", "beta"], [("lab-a", ["alpha", "beta"])], TLS_HOSTS)
    with tarfile.open(tmp_path / ".bundles" / "lab-a.tar") as tar:
        names = set(tar.getnames())
        cert = tar.extractfile("beta/tls-cert.pem")
        assert cert is not None
        assert cert.read() == (tmp_path / ".tls" / "lab-a.pem").read_bytes()
        key = tar.extractfile("alpha/tls-key.pem")
        assert key is not None
        assert key.read() == (tmp_path / ".tls" / "lab-a.key").read_bytes()
        modes = {m.name: m.mode for m in tar.getmembers() if m.isfile()}
    for boundary in ("alpha", "beta"):
        assert {f"{boundary}/tls-ca.pem", f"{boundary}/tls-cert.pem", f"{boundary}/tls-key.pem"} <= names
    ca_key = (tmp_path / ".tls" / "ca.key").read_bytes()
    assert ca_key not in (tmp_path / ".bundles" / "lab-a.tar").read_bytes()
    assert set(modes.values()) == {0o600}


def test_the_cli_takes_tls_hosts_and_prints_no_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = secrets.main(["ensure", str(tmp_path), "--boundary", "alpha", "--tls", "lab-a=10.0.0.1"])
    out = capsys.readouterr().out
    assert code == 0
    assert ".tls/lab-a.key" in json.loads(out)["created"]
    for path in (tmp_path / ".tls").glob("*.key"):
        body = [line for line in path.read_text().splitlines() if "-----" not in line]
        assert not [line for line in body if line in out]
