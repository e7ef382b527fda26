"""Fetch and cache SNS signing certificates over HTTPS (the CertFetcher of the SES verifier).

The SES verifier asks only for URLs it has already checked (https, an SNS host, a
`.pem` path); this fetcher adds its own guards so it is safe on its own: https only,
no redirects, a total timeout, a size limit, and the body must parse as an X.509 PEM
certificate. Good certificates are cached by URL (SNS signs with one certificate for
months, so a cache hit is the normal case); concurrent requests for one URL share a
single fetch; failures are not cached, so the provider's retry tries again.
"""

import asyncio
import ssl
from collections import OrderedDict
from urllib.parse import urlsplit

import aiohttp
from cryptography import x509


class CertFetchError(Exception):
    """The certificate could not be fetched or is not a PEM certificate (detail is log-safe)."""


class HttpCertFetcher:
    """An aiohttp CertFetcher with an LRU cache by URL; call `close()` on shutdown."""

    def __init__(
        self,
        *,
        timeout_s: float = 5.0,
        max_bytes: int = 64 * 1024,
        max_entries: int = 64,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._max_bytes = max_bytes
        self._max_entries = max_entries
        # None = the system trust store; tests pass a context that trusts their own CA.
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._in_flight: dict[str, asyncio.Future[bytes]] = {}
        self._session: aiohttp.ClientSession | None = None
        self.fetches = 0  # network fetches made, for tests and logs

    async def pem(self, url: str) -> bytes:
        cached = self._cache.get(url)
        if cached is not None:
            self._cache.move_to_end(url)
            return cached
        future = self._in_flight.get(url)
        if future is None:
            future = asyncio.ensure_future(self._fetch(url))
            self._in_flight[url] = future
            future.add_done_callback(lambda _: self._in_flight.pop(url, None))
        # shield: one waiter's cancellation must not cancel the fetch the others share
        return await asyncio.shield(future)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _fetch(self, url: str) -> bytes:
        if urlsplit(url).scheme != "https":
            raise CertFetchError("certificate URL is not https")
        self.fetches += 1
        try:
            body = await self._download(url)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise CertFetchError(
                f"fetching the certificate failed ({type(exc).__name__})"
            ) from None
        try:
            x509.load_pem_x509_certificate(body)
        except ValueError:
            raise CertFetchError("the response is not a PEM certificate") from None
        self._cache[url] = body
        while len(self._cache) > self._max_entries:
            self._cache.popitem(last=False)
        return body

    async def _download(self, url: str) -> bytes:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        async with self._session.get(url, allow_redirects=False, ssl=self._ssl) as response:
            if response.status != 200:
                raise CertFetchError(f"certificate URL answered HTTP {response.status}")
            if (response.content_length or 0) > self._max_bytes:
                raise CertFetchError(f"certificate is larger than {self._max_bytes} bytes")
            body = bytearray()
            async for chunk in response.content.iter_chunked(16 * 1024):
                body += chunk
                if len(body) > self._max_bytes:
                    raise CertFetchError(f"certificate is larger than {self._max_bytes} bytes")
            return bytes(body)
