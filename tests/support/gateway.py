"""A real gateway for tests: keys generated per test, signed provider requests, a live server.

``GatewayKeys.create()`` makes every provider's secret; ``keys.settings(base)``
configures a gateway with them; ``signed_requests`` builds, per provider, a
request its verifier accepts whose body the normaliser turns into canonical
events (``Signed.events`` of them). ``running_gateway`` serves the gateway
application in this process on a free port (real Kafka and Redis behind it),
with the SNS certificate served from memory and subscription confirmations
recorded instead of fetched from AWS.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from aiohttp import web
from pydantic import SecretStr

from collectpulse.gateway.server import Built, build
from collectpulse.settings import Settings
from tests.support.processes import free_port
from tests.support.webhook_signing import (
    SNS_TOPIC_ARN,
    SendgridKey,
    SnsSigner,
    StaticCerts,
    basic_auth,
    make_sendgrid_key,
    make_sns_cert,
    ses_notification,
    sign_mailgun,
    sign_sendgrid,
    sign_ses,
    sign_twilio_form,
)
from tests.unit.providers.provider_samples import (
    mailgun_webhook,
    postmark_record,
    sendgrid_event,
    ses_event,
    twilio_fields,
)

PROVIDER_ORDER = ("ses", "sendgrid", "mailgun", "postmark", "twilio")


@dataclass(frozen=True)
class GatewayKeys:
    sns: SnsSigner
    sendgrid: SendgridKey
    mailgun: str
    postmark_user: str
    postmark_password: str
    twilio: str

    @classmethod
    def create(cls) -> GatewayKeys:
        return cls(
            sns=make_sns_cert(),
            sendgrid=make_sendgrid_key(),
            mailgun=secrets.token_hex(16),
            postmark_user="postmark",
            postmark_password=secrets.token_urlsafe(12),
            twilio=secrets.token_hex(16),
        )

    def settings(self, base: Settings, **changes: Any) -> Settings:
        """``base`` with every provider enabled by these keys; ``changes`` override."""
        values: dict[str, Any] = {
            "gateway_port": free_port(),
            "gateway_ses_topic_arns": (SNS_TOPIC_ARN,),
            "gateway_sendgrid_public_key": SecretStr(self.sendgrid.public_key_b64),
            "gateway_mailgun_signing_key": SecretStr(self.mailgun),
            "gateway_postmark_username": self.postmark_user,
            "gateway_postmark_password": SecretStr(self.postmark_password),
            "gateway_twilio_auth_token": SecretStr(self.twilio),
            "gateway_publish_timeout": "5s",
        }
        return base.model_copy(update=values | changes)

    def certs(self) -> StaticCerts:
        return StaticCerts({self.sns.cert_url: self.sns.cert_pem})


@dataclass(frozen=True)
class Signed:
    provider: str
    body: bytes
    headers: Mapping[str, str]
    events: int
    """Canonical events the normaliser makes of the body."""
    query: str = ""


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def signed_requests(keys: GatewayKeys, run: str, *, public_base: str) -> list[Signed]:
    """One valid, signed delivery report per provider, ids unique to ``run``."""
    now = datetime.now(UTC)
    iso, unix = _iso(now), int(now.timestamp())
    delivery = {"timestamp": iso, "recipients": ["debtor@example.net"], "smtpResponse": "250 OK"}
    ses = ses_event("Delivery", delivery, messageId=f"0102-{run}-ses", timestamp=iso)
    ses_body = sign_ses(ses_notification(ses), keys.sns, version="2")

    sg_events = [
        sendgrid_event(
            kind, sg_message_id=f"{run}Sg.recvd-1", sg_event_id=f"{run}-{kind}", timestamp=unix
        )
        for kind in ("processed", "delivered")
    ]
    sg_body = ("[" + ",\r\n".join(json.dumps(e) for e in sg_events) + "\r\n]\r\n").encode()

    mg_data = mailgun_webhook(
        "delivered",
        id=f"{run}-mg",
        timestamp=now.timestamp(),
        message={"headers": {"message-id": f"{run}@mg.example"}, "attachments": [], "size": 1},
    )["event-data"]

    pm_body = json.dumps(
        postmark_record("Delivery", MessageID=f"{run}-pm", DeliveredAt=iso)
    ).encode()
    params = twilio_fields("delivered", MessageSid=f"SM{run}", SmsSid=f"SM{run}")
    tw_body, tw_headers = sign_twilio_form(keys.twilio, f"{public_base}/webhooks/twilio", params)
    return [
        Signed("ses", ses_body, {"Content-Type": "text/plain; charset=UTF-8"}, 1),
        Signed("sendgrid", sg_body, sign_sendgrid(keys.sendgrid, sg_body, timestamp_s=unix), 2),
        Signed(
            "mailgun",
            sign_mailgun(keys.mailgun, mg_data, timestamp_s=unix),
            {"Content-Type": "application/json"},
            1,
        ),
        Signed(
            "postmark",
            pm_body,
            {
                "Content-Type": "application/json",
                **basic_auth(keys.postmark_user, keys.postmark_password),
            },
            1,
        ),
        Signed("twilio", tw_body, tw_headers, 1),
    ]


@dataclass
class RunningGateway:
    url: str
    built: Built
    confirmed: list[str] = field(default_factory=list)

    async def post(self, signed: Signed, **changes: Any) -> httpx.Response:
        """POST ``signed`` (``changes``: ``body``/``headers``/``path`` replacements)."""
        path = changes.get("path", f"/webhooks/{signed.provider}{signed.query}")
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.post(
                self.url + path,
                content=changes.get("body", signed.body),
                headers=dict(changes.get("headers", signed.headers)),
            )

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.get(self.url + path)


@asynccontextmanager
async def running_gateway(settings: Settings, keys: GatewayKeys) -> AsyncIterator[RunningGateway]:
    """The gateway app of ``settings`` on 127.0.0.1:``settings.gateway_port``."""
    confirmed: list[str] = []

    async def confirm(url: str) -> None:
        confirmed.append(url)

    built = build(settings, certs=keys.certs(), confirm=confirm)
    runner = web.AppRunner(built.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", settings.gateway_port)
    await site.start()
    try:
        yield RunningGateway(f"http://127.0.0.1:{settings.gateway_port}", built, confirmed)
    finally:
        await runner.cleanup()
        await built.close()
