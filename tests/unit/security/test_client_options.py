"""Kafka and Redis client options are built from settings alone, secrets included once."""

from __future__ import annotations

import ssl
from pathlib import Path

import faust
import pytest
from pydantic import SecretStr
from tests.support.certs import CertificateAuthority

from collectpulse.kafka.connection import faust_credentials, kafka_options
from collectpulse.settings import Settings, SettingsError, load_settings
from collectpulse.store.client import redis_client, redis_options


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    return CertificateAuthority.create(tmp_path_factory.mktemp("pki"))


def _secure(pki: CertificateAuthority, **extra: object) -> Settings:
    client = pki.issue("client")
    values: dict[str, object] = {
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_mechanism": "SCRAM-SHA-512",
        "kafka_sasl_username": "collectpulse",
        "kafka_sasl_password": SecretStr("kafka-pass"),
        "kafka_ssl_cafile": pki.ca_cert,
        "kafka_ssl_certfile": client.cert,
        "kafka_ssl_keyfile": client.key,
        "redis_url": SecretStr("rediss://127.0.0.1:6380/0"),
        "redis_username": "collectpulse",
        "redis_password": SecretStr("redis-pass"),
        "redis_ssl_ca_file": pki.ca_cert,
        "redis_ssl_cert_file": client.cert,
        "redis_ssl_key_file": client.key,
    }
    return Settings(**(values | extra))  # type: ignore[arg-type]


def test_plaintext_is_the_default_and_needs_no_credentials() -> None:
    settings = Settings()
    assert kafka_options(settings) == {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": "PLAINTEXT",
    }
    assert faust_credentials(settings) is None
    assert "password" not in redis_options(settings)
    assert "ssl_ca_certs" not in redis_options(settings)


def test_sasl_ssl_with_a_client_certificate(pki: CertificateAuthority) -> None:
    settings = _secure(pki)
    options = kafka_options(settings)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "collectpulse"
    assert options["sasl_plain_password"] == "kafka-pass"
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_faust_gets_the_same_credentials(pki: CertificateAuthority) -> None:
    credentials = faust_credentials(_secure(pki))
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert (credentials.username, credentials.password) == ("collectpulse", "kafka-pass")
    assert "kafka-pass" not in repr(credentials)


def test_faust_gets_mutual_tls_without_sasl(pki: CertificateAuthority) -> None:
    settings = _secure(
        pki,
        kafka_security_protocol="SSL",
        kafka_sasl_mechanism=None,
        kafka_sasl_username=None,
        kafka_sasl_password=None,
    )
    credentials = faust_credentials(settings)
    assert isinstance(credentials, faust.SSLCredentials)
    assert credentials.protocol.value == "SSL"
    assert "sasl_mechanism" not in kafka_options(settings)


def test_redis_acl_user_and_tls_files(pki: CertificateAuthority) -> None:
    settings = _secure(pki)
    options = redis_options(settings)
    assert options["username"] == "collectpulse"
    assert options["password"] == "redis-pass"
    assert options["ssl_ca_certs"] == str(pki.ca_cert)
    assert options["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    assert options["ssl_check_hostname"] is True
    kwargs = redis_client(settings).connection_pool.connection_kwargs
    assert kwargs["username"] == "collectpulse"
    assert kwargs["ssl_certfile"] == str(settings.redis_ssl_cert_file)


def test_secrets_do_not_show_in_the_settings_repr(pki: CertificateAuthority) -> None:
    text = repr(_secure(pki)) + str(_secure(pki).model_dump())
    assert "kafka-pass" not in text
    assert "redis-pass" not in text


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "COLLECTPULSE_KAFKA_SASL_USERNAME"),
        (
            {
                "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "KAFKA_SASL_USERNAME": "u",
                "KAFKA_SASL_PASSWORD": "p",
            },
            "COLLECTPULSE_KAFKA_SASL_MECHANISM",
        ),
        ({"KAFKA_SSL_CAFILE": "/no/such/ca.pem"}, "COLLECTPULSE_KAFKA_SSL_CAFILE"),
        ({"KAFKA_SSL_CAFILE": "{ca}"}, "COLLECTPULSE_KAFKA_SECURITY_PROTOCOL"),
        ({"REDIS_SSL_CA_FILE": "{ca}"}, "rediss://"),
        (
            {"REDIS_URL": "rediss://h:6380/0", "REDIS_SSL_CERT_FILE": "{ca}"},
            "COLLECTPULSE_REDIS_SSL_KEY_FILE",
        ),
        ({"HTTP_WEB_CONFIG_FILE": "/no/such/web.yml"}, "COLLECTPULSE_HTTP_WEB_CONFIG_FILE"),
    ],
)
def test_half_configured_security_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, pki: CertificateAuthority, env: dict[str, str], named: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(f"COLLECTPULSE_{name}", value.format(ca=pki.ca_cert))
    monkeypatch.setenv("COLLECTPULSE_KAFKA_SASL_PASSWORD", "never-shown")
    with pytest.raises(SettingsError) as caught:
        load_settings(Settings)
    assert named in str(caught.value)
    assert "never-shown" not in str(caught.value)


def test_key_password_unlocks_an_encrypted_client_key(
    pki: CertificateAuthority, tmp_path: Path
) -> None:
    client = pki.issue("locked", key_password="unlock-me")
    settings = _secure(
        pki,
        kafka_ssl_certfile=client.cert,
        kafka_ssl_keyfile=client.key,
        kafka_ssl_key_password=SecretStr("unlock-me"),
    )
    assert isinstance(kafka_options(settings)["ssl_context"], ssl.SSLContext)
