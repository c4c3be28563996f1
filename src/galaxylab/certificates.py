"""The lab's TLS certificates: one CA per lab, one server certificate per lab host, all EC P-256 (what gRPC,
Redis, OpenSSL and Python's ``ssl`` all accept), made with ``cryptography``.

A host's certificate names the host's address (an IP SAN, or a DNS SAN when the address is a name) and its
inventory name (a DNS SAN), is signed by the lab's CA and serves TLS only (``serverAuth``). Nothing here
writes a file or prints a key (``galaxylab.secrets`` does the writing).
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The lab's secrets live as long as the lab (teardown removes them); a re-run re-issues a certificate
# whose end is nearer than RENEW_BEFORE.
VALIDITY = datetime.timedelta(days=825)
RENEW_BEFORE = datetime.timedelta(days=30)
CLOCK_SKEW = datetime.timedelta(minutes=5)
CA_NAME = "Galaxy lab CA"


@dataclass(frozen=True)
class Pair:
    """A private key and its certificate, PEM."""

    key: bytes
    cert: bytes


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def new_ca(lab: str) -> Pair:
    """A self-signed CA for the lab ``lab`` (its name in the subject), allowed to sign server certificates only."""
    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{CA_NAME} {lab}"[:64])])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Pair(_key_pem(key), cert.public_bytes(serialization.Encoding.PEM))


def subject_names(host: str, address: str) -> list[x509.GeneralName]:
    """The SANs of a host's certificate: its address (IP or DNS) and its inventory name (DNS)."""
    names: list[x509.GeneralName] = []
    try:
        names.append(x509.IPAddress(ipaddress.ip_address(address)))
    except ValueError:
        names.append(x509.DNSName(address))
    if x509.DNSName(host) not in names:
        names.append(x509.DNSName(host))
    return names


def issue(ca: Pair, host: str, address: str) -> Pair:
    """A server certificate for ``host`` reached at ``address``, signed by ``ca``."""
    ca_key = serialization.load_pem_private_key(ca.key, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("the lab's CA key is not an EC private key")
    ca_cert = x509.load_pem_x509_certificate(ca.cert)
    key = _key()
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host[:64])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(min(now + VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(subject_names(host, address)), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return Pair(_key_pem(key), cert.public_bytes(serialization.Encoding.PEM))


def current(ca_cert: bytes, pair: Pair, host: str, address: str) -> bool:
    """Whether ``pair`` is still right for ``host`` at ``address``: signed by this CA, naming exactly the
    host's SANs, its key matching, and not about to expire."""
    try:
        ca = x509.load_pem_x509_certificate(ca_cert)
        cert = x509.load_pem_x509_certificate(pair.cert)
        key = serialization.load_pem_private_key(pair.key, password=None)
        cert.verify_directly_issued_by(ca)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    same_key = key.public_key() == cert.public_key()
    fresh = cert.not_valid_after_utc - RENEW_BEFORE > _now()
    return same_key and fresh and list(sans) == subject_names(host, address)


def ca_current(ca: Pair) -> bool:
    """Whether the CA's key and certificate belong together and it is not about to expire."""
    try:
        cert = x509.load_pem_x509_certificate(ca.cert)
        key = serialization.load_pem_private_key(ca.key, password=None)
    except (ValueError, TypeError):
        return False
    return key.public_key() == cert.public_key() and cert.not_valid_after_utc - RENEW_BEFORE > _now()
