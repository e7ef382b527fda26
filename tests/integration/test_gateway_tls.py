"""``collectpulse gateway`` behind its own TLS and basic auth (the exporter's web config file).

With a web config holding a certificate and a bcrypt user, the command serves
https only, every endpoint needs the user, and a Twilio callback signed for the
https URL it was sent to is verified and published.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import uuid
from pathlib import Path

import bcrypt
import httpx
import pytest

from collectpulse.events.providers import PROVIDERS
from collectpulse.gateway.server import raw_topics
from collectpulse.settings import Settings
from tests.support.certs import CertificateAuthority
from tests.support.gateway import GatewayKeys
from tests.support.gateway import signed_requests as make_signed
from tests.support.kafka import create_topics, read_all
from tests.support.processes import collectpulse_process

pytestmark = pytest.mark.integration


def web_config(tmp_path: Path, password: str) -> tuple[Path, Path]:
    """The web config file and the CA that signed its server certificate."""
    ca = CertificateAuthority.create(tmp_path / "pki")
    server = ca.issue("gateway")
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=6)).decode()
    path = tmp_path / "web.yml"
    path.write_text(
        "tls_server_config:\n"
        f"  cert_file: {server.cert}\n"
        f"  key_file: {server.key}\n"
        "basic_auth_users:\n"
        f"  provider: '{hashed}'\n"
    )
    return path, ca.ca_cert


async def test_the_gateway_serves_https_with_basic_auth_from_the_web_config(
    settings: Settings, tmp_path: Path
) -> None:
    await create_topics(settings, extra=raw_topics(settings, PROVIDERS).values())
    password = uuid.uuid4().hex
    config, ca = web_config(tmp_path, password)
    keys = GatewayKeys.create()
    gw = keys.settings(settings, gateway_web_config_file=config)
    base = f"https://127.0.0.1:{gw.gateway_port}"
    log = tmp_path / "gateway.log"
    auth = ("provider", password)
    with collectpulse_process(gw, "gateway", log=log) as proc:
        trust = ssl.create_default_context(cafile=ca)
        async with httpx.AsyncClient(verify=trust, timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, log.read_text()
                try:
                    if (await client.get(f"{base}/readyz", auth=auth)).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, log.read_text()[-2000:]
                await asyncio.sleep(0.3)

            (twilio,) = [
                r for r in make_signed(keys, uuid.uuid4().hex[:8], public_base=base)
                if r.provider == "twilio"
            ]  # fmt: skip
            path = f"{base}/webhooks/twilio"
            anonymous = await client.post(path, content=twilio.body, headers=dict(twilio.headers))
            assert anonymous.status_code == 401
            assert anonymous.headers["WWW-Authenticate"].startswith("Basic")
            wrong = await client.post(
                path, content=twilio.body, headers=dict(twilio.headers), auth=("provider", "x")
            )
            assert wrong.status_code == 401
            signed = await client.post(
                path, content=twilio.body, headers=dict(twilio.headers), auth=auth
            )
            assert (signed.status_code, signed.text) == (200, "ok\n")
        async with httpx.AsyncClient(timeout=5) as plain:
            with pytest.raises(httpx.HTTPError):
                await plain.get(f"http://127.0.0.1:{gw.gateway_port}/healthz")
    (record,) = await read_all(settings, raw_topics(settings, ("twilio",))["twilio"], expect=1)
    assert record[1] == twilio.body
    text = log.read_text()
    assert f"gateway on {base} (TLS on, basic auth on)" in text
    assert password not in text and keys.twilio not in text
