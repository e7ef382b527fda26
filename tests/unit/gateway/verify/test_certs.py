"""HttpCertFetcher against a real HTTPS server on loopback (a CA made by the test)."""

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from tests.support.certs import CertificateAuthority
from tests.support.webhook_signing import make_sns_cert

from collectpulse.gateway.verify.certs import CertFetchError, HttpCertFetcher

CERT_PEM = make_sns_cert().cert_pem


@dataclass
class Server:
    base_url: str
    client_ssl: ssl.SSLContext
    hits: dict[str, int] = field(default_factory=dict)
    release: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    ca = CertificateAuthority.create(tmp_path_factory.mktemp("certs-ca"))
    leaf = ca.issue("sns-lookalike")
    return ca.ca_cert, leaf.cert, leaf.key


@pytest.fixture
async def server(tls_files: tuple[Path, Path, Path]) -> AsyncIterator[Server]:
    ca_cert, cert, key = tls_files
    state = Server("", ssl.create_default_context(cafile=str(ca_cert)))

    async def handle(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        state.hits[name] = state.hits.get(name, 0) + 1
        if name == "good.pem":
            return web.Response(body=CERT_PEM)
        if name == "held.pem":
            await state.release.wait()
            return web.Response(body=CERT_PEM)
        if name == "big.pem":
            return web.Response(body=CERT_PEM + b"\n" * 70_000)
        if name == "text.pem":
            return web.Response(text="<html>not a certificate</html>")
        if name == "redirect.pem":
            raise web.HTTPFound("/good.pem")
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{name}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ssl.load_cert_chain(str(cert), str(key))
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ssl)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.base_url = f"https://127.0.0.1:{port}"
    try:
        yield state
    finally:
        state.release.set()
        await runner.cleanup()


@pytest.fixture
async def fetcher(server: Server) -> AsyncIterator[HttpCertFetcher]:
    fetcher = HttpCertFetcher(timeout_s=2.0, ssl_context=server.client_ssl)
    try:
        yield fetcher
    finally:
        await fetcher.close()


async def test_certificate_is_fetched_once_and_then_served_from_the_cache(
    server: Server, fetcher: HttpCertFetcher
) -> None:
    url = f"{server.base_url}/good.pem"
    assert await fetcher.pem(url) == CERT_PEM
    assert await fetcher.pem(url) == CERT_PEM
    assert server.hits == {"good.pem": 1}
    assert fetcher.fetches == 1


async def test_concurrent_requests_for_one_url_share_one_fetch(
    server: Server, fetcher: HttpCertFetcher
) -> None:
    url = f"{server.base_url}/held.pem"
    waiters = asyncio.gather(*(fetcher.pem(url) for _ in range(5)))
    deadline = asyncio.get_running_loop().time() + 5
    while server.hits.get("held.pem", 0) == 0:
        assert asyncio.get_running_loop().time() < deadline, "the fetch never reached the server"
        await asyncio.sleep(0.01)
    server.release.set()
    assert await waiters == [CERT_PEM] * 5
    assert server.hits == {"held.pem": 1}


@pytest.mark.parametrize(
    ("name", "detail"),
    [
        ("missing.pem", "HTTP 404"),
        ("redirect.pem", "HTTP 302"),
        ("big.pem", "larger than"),
        ("text.pem", "not a PEM certificate"),
    ],
)
async def test_bad_answers_are_refused_and_not_cached(
    server: Server, fetcher: HttpCertFetcher, name: str, detail: str
) -> None:
    url = f"{server.base_url}/{name}"
    for _ in range(2):
        with pytest.raises(CertFetchError, match=detail):
            await fetcher.pem(url)
    assert server.hits[name] == 2  # a failure is retried by the next request
    assert "good.pem" not in server.hits  # the redirect was not followed


async def test_slow_server_times_out(server: Server) -> None:
    fetcher = HttpCertFetcher(timeout_s=0.3, ssl_context=server.client_ssl)
    try:
        with pytest.raises(CertFetchError, match="TimeoutError"):
            await fetcher.pem(f"{server.base_url}/held.pem")
    finally:
        await fetcher.close()


async def test_plain_http_is_never_fetched(fetcher: HttpCertFetcher) -> None:
    with pytest.raises(CertFetchError, match="not https"):
        await fetcher.pem("http://127.0.0.1:9/cert.pem")
    assert fetcher.fetches == 0


async def test_untrusted_server_certificate_is_refused(server: Server) -> None:
    fetcher = HttpCertFetcher(timeout_s=2.0)  # system trust store: our test CA is not in it
    try:
        with pytest.raises(CertFetchError, match="fetching the certificate failed"):
            await fetcher.pem(f"{server.base_url}/good.pem")
    finally:
        await fetcher.close()


async def test_cache_keeps_at_most_max_entries(server: Server) -> None:
    fetcher = HttpCertFetcher(timeout_s=2.0, max_entries=1, ssl_context=server.client_ssl)
    try:
        await fetcher.pem(f"{server.base_url}/good.pem")
        await fetcher.pem(f"{server.base_url}/good.pem?second")
        await fetcher.pem(f"{server.base_url}/good.pem")
    finally:
        await fetcher.close()
    assert fetcher.fetches == 3  # the first URL was evicted by the second
