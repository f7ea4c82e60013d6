"""The clients' TLS set-up: certificates and host names are checked, and the CA bundle is
read on the first TLS handshake, not when the clients are built (start-up)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.apis.errors import Unavailable
from bot.apis.http import build_http_client, send, verifying_tls_context

CA_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR")


@pytest.fixture
def no_ca_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CA_ENV:
        monkeypatch.delenv(name, raising=False)


def fresh_context() -> ssl.SSLContext:
    """A new context made as ``verifying_tls_context`` makes its shared one."""
    context: ssl.SSLContext = verifying_tls_context.__wrapped__()
    return context


def ca_count(context: ssl.SSLContext) -> int:
    return context.cert_store_stats()["x509_ca"]


@pytest.fixture
def self_signed(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A certificate for 127.0.0.1 that no public CA vouches for, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "warden-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    yield cert_path, key_path


@pytest.fixture
async def tls_server(self_signed: tuple[Path, Path]) -> AsyncIterator[str]:
    """An HTTPS server on loopback answering every request with 200 "ok"."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(*self_signed)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # the client refused our certificate
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"https://127.0.0.1:{port}/"


def test_the_shared_context_checks_certificates_and_names_like_httpx() -> None:
    context = verifying_tls_context()
    reference = httpx.create_ssl_context()
    assert context.verify_mode == reference.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is reference.check_hostname is True
    assert context.options == reference.options
    assert context.verify_flags == reference.verify_flags
    assert context.minimum_version == reference.minimum_version


async def test_building_clients_reads_no_ca_bundle(no_ca_env: None) -> None:
    context = fresh_context()
    async with httpx.AsyncClient(verify=context), httpx.AsyncClient(verify=context):
        assert ca_count(context) == 0


async def test_the_first_handshake_reads_the_bundle_and_rejects_an_unknown_issuer(
    no_ca_env: None, tls_server: str
) -> None:
    context = fresh_context()
    async with httpx.AsyncClient(verify=context) as http:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await http.get(tls_server)
    assert ca_count(context) > 100  # certifi's bundle


async def test_ssl_cert_file_is_honoured_as_httpx_does(
    monkeypatch: pytest.MonkeyPatch, self_signed: tuple[Path, Path], tls_server: str
) -> None:
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(self_signed[0]))
    context = fresh_context()
    async with httpx.AsyncClient(verify=context) as http:
        response = await http.get(tls_server)
    assert response.text == "ok"
    assert ca_count(context) == 1


async def test_a_refused_certificate_is_unavailable_not_ambiguous(
    no_ca_env: None, tls_server: str
) -> None:
    async with build_http_client(connect_timeout=2, read_timeout=2, user_agent="t") as http:
        with pytest.raises(Unavailable):
            await send(http, http.build_request("GET", tls_server), destination="test")


def test_a_missing_ssl_cert_file_still_stops_start_up(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "nowhere.pem"))
    with pytest.raises(FileNotFoundError):
        httpx.create_ssl_context()
    with pytest.raises(FileNotFoundError):
        fresh_context()
