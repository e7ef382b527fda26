"""``collectpulse gateway`` as a process, under random requests: only documented answers.

The real command (every provider configured from generated keys, real Kafka
and Redis) gets random methods, paths, content types, headers and bodies, and
bodies correctly signed around random content (they pass verification, so the
key derivation and publication see them too). Every answer is one of the
documented codes (a 503 only with Retry-After), never a traceback; afterwards
the gateway's metrics show no internal error and no failed publication, and
SIGTERM stops it cleanly. Hypothesis is derandomized: CI sees the same examples.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from collectpulse.events.providers import PROVIDERS
from collectpulse.gateway.server import raw_topics
from collectpulse.settings import Settings
from tests.support.gateway import GatewayKeys
from tests.support.kafka import create_topics
from tests.support.processes import spawn_collectpulse, stop_process
from tests.support.webhook_signing import (
    SENDGRID_SIGNATURE,
    SENDGRID_TIMESTAMP,
    basic_auth,
    sign_mailgun,
    sign_sendgrid,
    sign_twilio_form,
)

pytestmark = pytest.mark.integration

DOCUMENTED = {200, 400, 401, 403, 404, 405, 413, 415}
MAX_BODY_BYTES = 4096
METHODS = ("POST", "POST", "POST", "GET", "PUT", "DELETE", "HEAD", "PATCH")
CONTENT_TYPES = (
    "application/json",
    "application/json;charset=utf-8",
    "text/plain; charset=UTF-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "text/html",
    "",
)
HEADER_NAMES = (
    SENDGRID_SIGNATURE,
    SENDGRID_TIMESTAMP,
    "X-Twilio-Signature",
    "Authorization",
    "X-Amz-Sns-Message-Type",
    "Content-Length",
    "Transfer-Encoding",
)
ascii_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
bodies = st.one_of(
    st.binary(max_size=MAX_BODY_BYTES + 1500),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(ascii_text, ascii_text, max_size=5).map(lambda d: urlencode(d).encode()),
)
paths = st.one_of(
    st.sampled_from([f"/webhooks/{p}" for p in PROVIDERS]),
    st.sampled_from(PROVIDERS).map(lambda p: f"/webhooks/{p}?x=1&bodySHA256=00"),
    st.text(alphabet="/abcdefghijklmnopqrstuvwxyz.%?", max_size=30).map(lambda p: "/" + p),
)
# Content-Length and Transfer-Encoding are the client's to set: a random one is not a webhook.
# h11 refuses header values with surrounding whitespace, so they are stripped.
header_names = st.sampled_from(HEADER_NAMES[:5]) | st.from_regex(r"X-[A-Za-z]{1,8}", fullmatch=True)
headers = st.dictionaries(header_names, ascii_text.map(str.strip), max_size=4)


def _check(response: httpx.Response, where: str) -> None:
    status = response.status_code
    what = f"{where} -> {status}: {response.text[:200]!r}"
    assert status in DOCUMENTED or (status == 503 and "Retry-After" in response.headers), what
    assert "Traceback" not in response.text and 'File "' not in response.text, what


def _wait_ready(base: str, proc: Any, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, f"gateway exited with {proc.returncode}: {log.read_text()}"
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"gateway never ready: {log.read_text()[-2000:]}"
        time.sleep(0.3)


@pytest.fixture
def gateway_process(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, GatewayKeys, Any]]:
    asyncio.run(create_topics(settings, extra=raw_topics(settings, PROVIDERS).values()))
    keys = GatewayKeys.create()
    gw = keys.settings(settings, gateway_max_body_bytes=MAX_BODY_BYTES)
    log = tmp_path / "gateway.log"
    proc = spawn_collectpulse(gw, "gateway", log=log)
    base = f"http://127.0.0.1:{gw.gateway_port}"
    try:
        _wait_ready(base, proc, log)
        yield base, keys, proc
    finally:
        stop_process(proc)
    text = log.read_text()
    assert "Traceback" not in text, text[-3000:]
    for secret in (keys.mailgun, keys.twilio, keys.postmark_password, keys.sendgrid.public_key_b64):
        assert secret not in text, "a secret reached the log"


def test_random_requests_get_only_documented_answers_and_never_a_traceback(
    gateway_process: tuple[str, GatewayKeys, Any],
) -> None:
    base, keys, proc = gateway_process
    with httpx.Client(base_url=base, timeout=30) as client:

        @hypothesis_settings(
            max_examples=250,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(
            method=st.sampled_from(METHODS),
            path=paths,
            content_type=st.sampled_from(CONTENT_TYPES),
            extra=headers,
            body=bodies,
        )
        def unsigned(
            method: str, path: str, content_type: str, extra: dict[str, str], body: bytes
        ) -> None:
            sent = {**extra, "Content-Type": content_type} if content_type else extra
            try:
                request = client.build_request(method, path, content=body, headers=sent)
            except (httpx.InvalidURL, UnicodeError):
                return  # the client refuses to send it
            _check(client.send(request), f"{method} {path} {sent}")

        @hypothesis_settings(
            max_examples=80,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        @given(
            provider=st.sampled_from(("sendgrid", "mailgun", "postmark", "twilio")),
            body=bodies,
            data=st.dictionaries(st.text(max_size=12), json_values, max_size=5),
            params=st.dictionaries(ascii_text, ascii_text, max_size=5),
        )
        def signed(
            provider: str, body: bytes, data: dict[str, Any], params: dict[str, str]
        ) -> None:
            now = time.time()
            if provider == "sendgrid":
                # half raw bytes, half the shape SendGrid sends: an array of events
                body = body if len(body) % 2 else json.dumps([data, data]).encode()
                sent = sign_sendgrid(keys.sendgrid, body, timestamp_s=now)
            elif provider == "mailgun":
                body = sign_mailgun(keys.mailgun, data, timestamp_s=now)
                sent = {"Content-Type": "application/json"}
            elif provider == "postmark":
                body = body if len(body) % 2 else json.dumps(data).encode()
                sent = {"Content-Type": "application/json"}
                sent.update(basic_auth(keys.postmark_user, keys.postmark_password))
            else:
                body, sent = sign_twilio_form(keys.twilio, f"{base}/webhooks/twilio", params)
            response = client.post(f"/webhooks/{provider}", content=body, headers=sent)
            _check(response, f"signed {provider} {body[:80]!r}")
            if len(body) <= MAX_BODY_BYTES and body:
                # verified: published, or refused only because the body is unreadable
                ok = response.status_code == 200 or response.text == "refused: malformed\n"
                assert ok, f"{provider}: {response.status_code} {response.text}"

        unsigned()
        signed()
        metrics = client.get("/metrics").text
    assert 'outcome="error"' in metrics
    for provider in ("sendgrid", "mailgun", "postmark", "twilio"):
        accepted = (
            f'collectpulse_gateway_requests_total{{outcome="accepted",provider="{provider}"}}'
        )
        (line,) = [x for x in metrics.splitlines() if x.startswith(accepted)]
        assert float(line.rsplit(" ", 1)[1]) > 0, f"no signed {provider} request was published"
    for line in metrics.splitlines():
        if line.startswith("collectpulse_gateway_requests_total{") and (
            'outcome="error"' in line or 'outcome="unavailable"' in line
        ):
            assert line.endswith(" 0.0"), line
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
