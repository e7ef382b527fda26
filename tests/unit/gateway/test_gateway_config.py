"""Which providers a gateway serves, from Settings, and the SNS confirmation URL rule."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from tests.support.webhook_signing import MemoryTokens, StaticCerts

from collectpulse.gateway.config import build_providers
from collectpulse.gateway.confirm import ConfirmationRefused, SubscriptionConfirmer
from collectpulse.gateway.verify.mailgun import MailgunVerifier
from collectpulse.gateway.verify.unsigned import UnsignedVerifier
from collectpulse.settings import Settings, SettingsError, load_settings


def _providers(**fields: object):  # type: ignore[no-untyped-def]
    return build_providers(
        Settings(**fields),  # type: ignore[arg-type]
        tokens=MemoryTokens(),
        certs=StaticCerts({}),
    )


def test_without_secrets_every_provider_is_disabled_and_named_with_its_variable() -> None:
    providers = _providers()
    assert providers.verifiers == {}
    lines = providers.startup_lines()
    assert len(lines) == 5
    assert "set COLLECTPULSE_GATEWAY_SES_TOPIC_ARNS to enable" in lines[0]
    assert "COLLECTPULSE_GATEWAY_POSTMARK_USERNAME and" in lines[3]


def test_a_configured_secret_wins_over_the_unsigned_list() -> None:
    providers = _providers(
        gateway_mailgun_signing_key=SecretStr("k" * 32),
        gateway_unsigned_providers=("mailgun", "twilio"),
    )
    assert isinstance(providers.verifiers["mailgun"], MailgunVerifier)
    assert isinstance(providers.verifiers["twilio"], UnsignedVerifier)
    assert providers.unsigned == ("twilio",)
    assert "k" * 32 not in "".join(providers.startup_lines())


def test_an_empty_secret_counts_as_unset() -> None:
    providers = _providers(
        gateway_sendgrid_public_key=SecretStr(""), gateway_twilio_auth_token=SecretStr("")
    )
    assert providers.verifiers == {}
    assert "COLLECTPULSE_GATEWAY_SENDGRID_PUBLIC_KEY" in providers.disabled["sendgrid"]


def test_an_unusable_sendgrid_key_stops_start_up_naming_its_variable() -> None:
    with pytest.raises(SettingsError) as raised:
        _providers(gateway_sendgrid_public_key=SecretStr("not-a-key-at-all"))
    message = str(raised.value)
    assert message.startswith("COLLECTPULSE_GATEWAY_SENDGRID_PUBLIC_KEY: ")
    assert "not-a-key-at-all" not in message


def test_postmark_needs_both_username_and_password() -> None:
    assert "postmark" not in _providers(gateway_postmark_username="pm").verifiers
    both = _providers(gateway_postmark_username="pm", gateway_postmark_password=SecretStr("x"))
    assert "postmark" in both.verifiers


def test_list_settings_are_read_from_comma_separated_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLLECTPULSE_GATEWAY_UNSIGNED_PROVIDERS", "twilio, ses")
    monkeypatch.setenv("COLLECTPULSE_GATEWAY_SES_TOPIC_ARNS", "arn:aws:sns:eu-west-1:1:a,arn:b")
    monkeypatch.setenv("COLLECTPULSE_GATEWAY_TWILIO_AUTH_TOKEN", "s3cret-token")
    settings = load_settings(Settings)
    assert settings.gateway_unsigned_providers == ("twilio", "ses")
    assert settings.gateway_ses_topic_arns == ("arn:aws:sns:eu-west-1:1:a", "arn:b")
    assert "s3cret-token" not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("COLLECTPULSE_GATEWAY_UNSIGNED_PROVIDERS", "twillio", "unknown provider(s) 'twillio'"),
        ("COLLECTPULSE_GATEWAY_TIMESTAMP_TOLERANCE", "5 minutes", "is not a duration"),
        ("COLLECTPULSE_GATEWAY_SNS_CERT_HOST_PATTERN", "^($", "is not a regular expression"),
        ("COLLECTPULSE_GATEWAY_SNS_CERT_HOST_PATTERN", r"amazonaws\.com", "must be anchored"),
        ("COLLECTPULSE_GATEWAY_PUBLIC_BASE_URL", "hooks.example.com", "should match pattern"),
    ],
)
def test_bad_gateway_settings_stop_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings(Settings)
    assert variable in str(raised.value) and named in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription",
        "https://sns.eu-west-1.amazonaws.com.evil.example/?Action=ConfirmSubscription",
        "https://169.254.169.254/latest/meta-data/",
        "https://user@evil.example/?sns.eu-west-1.amazonaws.com",
    ],
)
def test_a_subscribe_url_is_followed_only_over_https_to_an_sns_host(url: str) -> None:
    confirmer = SubscriptionConfirmer(Settings().gateway_sns_cert_host_pattern)
    with pytest.raises(ConfirmationRefused):
        confirmer.check(url)


def test_a_real_sns_subscribe_url_passes_the_check() -> None:
    confirmer = SubscriptionConfirmer(Settings().gateway_sns_cert_host_pattern)
    confirmer.check("https://sns.us-gov-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=t")
    confirmer.check("https://sns.cn-north-1.amazonaws.com.cn/?Action=ConfirmSubscription")
