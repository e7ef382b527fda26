"""SNS subscription confirmation: GET the SubscribeURL of a verified SubscriptionConfirmation.

The verifier hands the URL over only after the signature and the topic ARN
passed; this still follows it only over https to a host the SNS pattern
allows (``COLLECTPULSE_GATEWAY_SNS_CERT_HOST_PATTERN``), without redirects, so
a crafted message cannot make the gateway call anything else (SSRF).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import aiohttp

CONFIRM_TIMEOUT_S = 10.0
"""Below SNS' own 15 s, so a slow AWS answer is a 503 SNS retries, not a timeout."""


class ConfirmationRefused(Exception):
    """The SubscribeURL is not one the gateway follows, or AWS did not answer 200."""


class SubscriptionConfirmer:
    """``await confirmer(url)`` GETs ``url`` once; raises on anything but a 200."""

    def __init__(self, host_pattern: str, *, timeout_s: float = CONFIRM_TIMEOUT_S) -> None:
        self._host = re.compile(host_pattern)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    def check(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise ConfirmationRefused("SubscribeURL is not https")
        if not parts.hostname or not self._host.fullmatch(parts.hostname):
            raise ConfirmationRefused("SubscribeURL host is not an allowed SNS host")

    async def __call__(self, url: str) -> None:
        self.check(url)
        async with (
            aiohttp.ClientSession(timeout=self._timeout) as session,
            session.get(url, allow_redirects=False) as response,
        ):
            if response.status != 200:
                raise ConfirmationRefused(f"SubscribeURL answered {response.status}")
