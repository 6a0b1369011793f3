"""The HTTP probe against real servers on loopback: the sample service, odd endpoints, and TLS."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import ipaddress
import math
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from app.providers.base import ProviderError
from app.providers.http import MAX_BODY_BYTES, probe_http, safe_url
from app.sandbox.server import LoopbackServer
from app.sandbox.service import SampleService


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as http:
        yield http


async def test_healthy_service_gives_status_json_and_latency(service, client):
    sample, base = service
    observation = await probe_http(client, url=f"{base}/health")
    assert observation.status == 200
    assert observation.body_is_json is True
    assert observation.json_body == {"status": "ok"}
    assert observation.latency_ms > 0
    assert observation.cert_days_left is None  # plain http
    assert observation.method == "GET"
    assert observation.url == f"{base}/health"
    assert sample.requests == 1


async def test_down_service_keeps_503_and_its_body(service, client):
    sample, base = service
    sample.down()
    observation = await probe_http(client, url=f"{base}/health")
    assert observation.status == 503
    assert observation.json_body == {"status": "down"}


async def test_wrong_json_is_kept_for_the_judge(service, client):
    sample, base = service
    sample.wrong_json()
    observation = await probe_http(client, url=f"{base}/health")
    assert observation.status == 200
    assert observation.json_body == {"status": "degraded"}
    sample.ok()
    assert (await probe_http(client, url=f"{base}/health")).json_body == {"status": "ok"}


async def test_head_has_status_but_no_body(service, client):
    sample, base = service
    observation = await probe_http(client, url=f"{base}/health", method="head")
    assert observation.method == "HEAD"
    assert observation.status == 200
    assert observation.body_is_json is False
    assert observation.json_body is None
    sample.down()
    assert (await probe_http(client, url=f"{base}/health", method="HEAD")).status == 503


async def test_slow_service_beyond_timeout_is_reported_as_timed_out(service, client):
    sample, base = service
    sample.slow(1000)
    with pytest.raises(ProviderError) as caught:
        await probe_http(client, url=f"{base}/health", timeout_s=0.2)
    assert caught.value.call == f"GET {base}/health"
    assert caught.value.reason == "timed out after 0.2 s"


async def test_slow_service_within_timeout_still_answers(service, client):
    sample, base = service
    sample.slow(50)
    observation = await probe_http(client, url=f"{base}/health", timeout_s=5)
    assert observation.json_body == {"status": "ok"}
    assert observation.latency_ms >= 50


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_closed_port_is_connection_refused_and_credentials_stay_out(client):
    port = _closed_port()
    with pytest.raises(ProviderError) as caught:
        await probe_http(client, url=f"http://ops:hunter2@127.0.0.1:{port}/health?token=s3cr3t&x=1")
    assert caught.value.reason == "connection refused"
    assert caught.value.call == f"GET http://127.0.0.1:{port}/health?token=***&x=1"
    assert "hunter2" not in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


async def test_not_a_url_says_so(client):
    with pytest.raises(ProviderError) as caught:
        await probe_http(client, url="api.example.com/health")
    assert "http://" in caught.value.reason


def test_safe_url_leaves_ordinary_urls_alone():
    assert safe_url("https://api.example.com/health?a=b%20c&page=2") == "https://api.example.com/health?a=b%20c&page=2"
    assert safe_url("https://u:p@api.example.com:8443/h") == "https://api.example.com:8443/h"


# --- endpoints the sample service does not have: odd bodies, redirects, compression ---------------


async def _endless(request: Request) -> StreamingResponse:
    async def forever() -> AsyncIterator[bytes]:
        yield b'{"status": "'
        while True:
            yield b"o" * 65536
            await asyncio.sleep(0)

    return StreamingResponse(forever(), media_type="application/json")


def _gzipped_json(request: Request) -> Response:
    return Response(gzip.compress(b'{"status": "ok"}'), media_type="application/json",
                    headers={"Content-Encoding": "gzip"})


def _gzip_bomb(request: Request) -> Response:
    body = b'{"status": "' + b"o" * (8 * MAX_BODY_BYTES) + b'"}'
    return Response(gzip.compress(body), media_type="application/json", headers={"Content-Encoding": "gzip"})


ODD_APP = Starlette(routes=[
    Route("/text", lambda request: PlainTextResponse("all good")),
    Route("/json-as-text", lambda request: PlainTextResponse('{"status": "ok"}')),
    Route("/broken-json", lambda request: Response('{"status": ', media_type="application/json")),
    Route("/redirect", lambda request: RedirectResponse("/elsewhere", status_code=302)),
    Route("/endless", _endless),
    Route("/gzip", _gzipped_json),
    Route("/gzip-bomb", _gzip_bomb),
])


@pytest.fixture
async def odd() -> AsyncIterator[str]:
    async with LoopbackServer(ODD_APP) as server:
        yield server.url


async def test_body_that_is_not_json(odd, client):
    observation = await probe_http(client, url=f"{odd}/text")
    assert observation.status == 200
    assert observation.body_is_json is False
    assert observation.json_body is None


async def test_json_served_as_text_is_still_read(odd, client):
    observation = await probe_http(client, url=f"{odd}/json-as-text")
    assert observation.json_body == {"status": "ok"}


async def test_truncated_json_is_not_json(odd, client):
    observation = await probe_http(client, url=f"{odd}/broken-json")
    assert observation.body_is_json is False


async def test_redirect_is_reported_not_followed(odd, client):
    observation = await probe_http(client, url=f"{odd}/redirect")
    assert observation.status == 302


async def test_endless_body_is_cut_at_the_limit(odd, client):
    observation = await probe_http(client, url=f"{odd}/endless", timeout_s=10)
    assert observation.status == 200
    assert observation.body_is_json is False


async def test_compressed_body_is_inflated_within_the_limit(odd, client):
    assert (await probe_http(client, url=f"{odd}/gzip")).json_body == {"status": "ok"}
    bomb = await probe_http(client, url=f"{odd}/gzip-bomb")
    assert bomb.status == 200
    assert bomb.body_is_json is False


# --- TLS: a throwaway self-signed certificate, served by uvicorn over https ------------------------


def _make_cert(directory: Path, *, valid_from_days: float, valid_until_days: float) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, valid between the two offsets from now."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        return _make_cert_with_openssl(directory, valid_from_days, valid_until_days)
    now = dt.datetime.now(dt.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pitcrew test")])
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=valid_from_days))
        .not_valid_after(now + dt.timedelta(days=valid_until_days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem, pkcs8 = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8
    key_path.write_bytes(key.private_bytes(pem, pkcs8, serialization.NoEncryption()))
    return cert_path, key_path


def _make_cert_with_openssl(directory: Path, from_days: float, until_days: float) -> tuple[Path, Path]:
    """The same through the `openssl` command line, where `cryptography` is not installed.

    `openssl req` (3.0) only says "valid from now for N days", so it rounds the end up to whole days
    and cannot make a certificate that has already expired.
    """
    if until_days <= 0 or from_days > 0:
        pytest.skip("a certificate outside 'from now on' needs the cryptography package")
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key_path), "-out", str(cert_path), "-subj", "/CN=pitcrew test",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", str(math.ceil(until_days))],
        check=True, capture_output=True,
    )
    return cert_path, key_path


CertFactory = Callable[..., tuple[Path, Path]]


@pytest.fixture
def make_cert(tmp_path: Path) -> CertFactory:
    def make(*, valid_from_days: float = -1, valid_until_days: float = 30) -> tuple[Path, Path]:
        return _make_cert(tmp_path, valid_from_days=valid_from_days, valid_until_days=valid_until_days)

    return make


@asynccontextmanager
async def serve_tls(app: object, certfile: Path, keyfile: Path) -> AsyncIterator[str]:
    """LoopbackServer has no TLS option, so start uvicorn the same way with its ssl settings."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                            ssl_certfile=str(certfile), ssl_keyfile=str(keyfile))
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        yield f"https://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def _trusting(certfile: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certfile))


async def test_https_reports_days_left_on_the_certificate(make_cert):
    certfile, keyfile = make_cert(valid_until_days=30)
    async with serve_tls(SampleService(), certfile, keyfile) as base, \
            httpx.AsyncClient(verify=_trusting(certfile)) as http:
        observation = await probe_http(http, url=f"{base}/health")
        again = await probe_http(http, url=f"{base}/health", method="HEAD")  # a reused connection
    assert observation.status == 200
    assert observation.json_body == {"status": "ok"}
    assert observation.cert_days_left in (29, 30)
    assert again.cert_days_left in (29, 30)


async def test_https_certificate_about_to_expire(make_cert):
    certfile, keyfile = make_cert(valid_until_days=3.5)
    async with serve_tls(SampleService(), certfile, keyfile) as base, \
            httpx.AsyncClient(verify=_trusting(certfile)) as http:
        observation = await probe_http(http, url=f"{base}/health")
    assert observation.cert_days_left == 3


async def test_untrusted_certificate_fails_verification(make_cert):
    certfile, keyfile = make_cert()
    async with serve_tls(SampleService(), certfile, keyfile) as base, httpx.AsyncClient() as http:
        with pytest.raises(ProviderError) as caught:
            await probe_http(http, url=f"{base}/health")
    assert caught.value.reason.startswith("TLS certificate verify failed: ")
    assert "self" in caught.value.reason and "signed" in caught.value.reason


async def test_expired_certificate_fails_verification(make_cert):
    certfile, keyfile = make_cert(valid_from_days=-30, valid_until_days=-1)
    async with serve_tls(SampleService(), certfile, keyfile) as base, \
            httpx.AsyncClient(verify=_trusting(certfile)) as http:
        with pytest.raises(ProviderError) as caught:
            await probe_http(http, url=f"{base}/health")
    assert caught.value.reason == "TLS certificate verify failed: certificate has expired"


async def test_unverified_client_gets_no_certificate_date(make_cert):
    certfile, keyfile = make_cert()
    async with serve_tls(SampleService(), certfile, keyfile) as base, httpx.AsyncClient(verify=False) as http:
        observation = await probe_http(http, url=f"{base}/health")
    assert observation.status == 200
    assert observation.cert_days_left is None
