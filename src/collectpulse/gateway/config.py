"""Which providers the gateway serves, and their verifiers, from ``Settings``.

A provider is enabled by its secret (SES: its topic ARN allow-list, SNS
signatures being public-key). Without one it is disabled, answered 404, and
named at start-up with the variable to set, unless it is listed in
``COLLECTPULSE_GATEWAY_UNSIGNED_PROVIDERS`` (development only: accepted
without verification, with a warning). A configured secret wins over that list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pydantic import SecretStr

from collectpulse.events.providers import PROVIDERS
from collectpulse.gateway.verify.base import CertFetcher, TokenStore, Verifier
from collectpulse.gateway.verify.mailgun import MailgunVerifier
from collectpulse.gateway.verify.postmark import PostmarkVerifier
from collectpulse.gateway.verify.sendgrid import SendgridVerifier
from collectpulse.gateway.verify.ses import SesVerifier
from collectpulse.gateway.verify.twilio import TwilioVerifier
from collectpulse.gateway.verify.unsigned import UnsignedVerifier
from collectpulse.settings import Settings, SettingsError

SECRET_VARIABLES: Mapping[str, str] = {
    "ses": "COLLECTPULSE_GATEWAY_SES_TOPIC_ARNS",
    "sendgrid": "COLLECTPULSE_GATEWAY_SENDGRID_PUBLIC_KEY",
    "mailgun": "COLLECTPULSE_GATEWAY_MAILGUN_SIGNING_KEY",
    "postmark": "COLLECTPULSE_GATEWAY_POSTMARK_USERNAME and COLLECTPULSE_GATEWAY_POSTMARK_PASSWORD",
    "twilio": "COLLECTPULSE_GATEWAY_TWILIO_AUTH_TOKEN",
}


@dataclass(frozen=True)
class Providers:
    """The verifier of each enabled provider; why each other one is off."""

    verifiers: Mapping[str, Verifier]
    unsigned: tuple[str, ...] = ()
    disabled: Mapping[str, str] = field(default_factory=dict)
    """provider -> the variable(s) that would enable it."""

    def startup_lines(self) -> list[str]:
        """What the log says at start-up: one line per provider, never a secret."""
        lines = []
        for provider in PROVIDERS:
            if provider in self.unsigned:
                lines.append(
                    f"{provider}: UNSIGNED, accepted without verification "
                    "(COLLECTPULSE_GATEWAY_UNSIGNED_PROVIDERS; development only)"
                )
            elif provider in self.verifiers:
                lines.append(f"{provider}: enabled, requests are verified")
            else:
                lines.append(
                    f"{provider}: disabled (answered 404): set {self.disabled[provider]} to enable"
                )
        return lines


def build_providers(settings: Settings, *, tokens: TokenStore, certs: CertFetcher) -> Providers:
    """Verifiers for every provider with a secret, or listed as unsigned.

    Raises ``SettingsError`` naming the variable when a secret cannot be used (a
    SendGrid key that is not a P-256 public key)."""
    signed: dict[str, Verifier] = {}
    for provider, build in _SIGNED.items():
        try:
            verifier = build(settings, tokens, certs)
        except ValueError as exc:  # the message describes the key, never contains it
            raise SettingsError(f"{SECRET_VARIABLES[provider]}: {exc}") from None
        if verifier is not None:
            signed[provider] = verifier
    unsigned = tuple(
        p for p in PROVIDERS if p in settings.gateway_unsigned_providers and p not in signed
    )
    verifiers: dict[str, Verifier] = {**signed, **{p: UnsignedVerifier(p) for p in unsigned}}
    disabled = {p: SECRET_VARIABLES[p] for p in PROVIDERS if p not in verifiers}
    return Providers(verifiers=verifiers, unsigned=unsigned, disabled=disabled)


def _secret(value: SecretStr | None) -> str | None:
    """The secret's value; an empty one (``VAR=`` in a deployment file) counts as unset."""
    text = value.get_secret_value() if value is not None else ""
    return text or None


def _ses(settings: Settings, tokens: TokenStore, certs: CertFetcher) -> Verifier | None:
    if not settings.gateway_ses_topic_arns:
        return None
    return SesVerifier(
        allowed_topic_arns=frozenset(settings.gateway_ses_topic_arns),
        cert_host_pattern=settings.gateway_sns_cert_host_pattern,
        certs=certs,
        tolerance_s=settings.gateway_timestamp_tolerance_s,
    )


def _sendgrid(settings: Settings, tokens: TokenStore, certs: CertFetcher) -> Verifier | None:
    key = _secret(settings.gateway_sendgrid_public_key)
    if key is None:
        return None
    return SendgridVerifier(
        public_key_pem_or_b64=key, tolerance_s=settings.gateway_timestamp_tolerance_s
    )


def _mailgun(settings: Settings, tokens: TokenStore, certs: CertFetcher) -> Verifier | None:
    key = _secret(settings.gateway_mailgun_signing_key)
    if key is None:
        return None
    return MailgunVerifier(
        signing_key=key, tokens=tokens, tolerance_s=settings.gateway_timestamp_tolerance_s
    )


def _postmark(settings: Settings, tokens: TokenStore, certs: CertFetcher) -> Verifier | None:
    username = settings.gateway_postmark_username
    password = _secret(settings.gateway_postmark_password)
    if not (username and password):
        return None
    return PostmarkVerifier(username=username, password=password)


def _twilio(settings: Settings, tokens: TokenStore, certs: CertFetcher) -> Verifier | None:
    token = _secret(settings.gateway_twilio_auth_token)
    return None if token is None else TwilioVerifier(auth_token=token)


_SIGNED: Mapping[str, Callable[[Settings, TokenStore, CertFetcher], Verifier | None]] = {
    "ses": _ses,
    "sendgrid": _sendgrid,
    "mailgun": _mailgun,
    "postmark": _postmark,
    "twilio": _twilio,
}
