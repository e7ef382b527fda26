"""The cross-field security checks of the settings: half-configured security is refused
at start-up, not discovered at the broker (``Settings`` calls this after validation)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collectpulse.settings import Settings


def check_security(s: Settings) -> None:
    """Half-configured security is refused at start-up, not discovered at the broker."""
    sasl = s.kafka_security_protocol.startswith("SASL_")
    if sasl and not (s.kafka_sasl_username and s.kafka_sasl_password):
        raise ValueError(
            "COLLECTPULSE_KAFKA_SECURITY_PROTOCOL is SASL_*: set "
            "COLLECTPULSE_KAFKA_SASL_USERNAME and COLLECTPULSE_KAFKA_SASL_PASSWORD"
        )
    if sasl and s.kafka_sasl_mechanism is None:
        raise ValueError(
            "COLLECTPULSE_KAFKA_SECURITY_PROTOCOL is SASL_*: set "
            "COLLECTPULSE_KAFKA_SASL_MECHANISM (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"
        )
    kafka_tls = s.kafka_security_protocol in ("SSL", "SASL_SSL")
    kafka_files = s.kafka_ssl_cafile or s.kafka_ssl_certfile or s.kafka_ssl_keyfile
    if kafka_files and not kafka_tls:
        raise ValueError(
            "COLLECTPULSE_KAFKA_SSL_* files are set but COLLECTPULSE_KAFKA_SECURITY_PROTOCOL "
            "is not SSL or SASL_SSL"
        )
    if s.kafka_ssl_keyfile and not s.kafka_ssl_certfile:
        raise ValueError("COLLECTPULSE_KAFKA_SSL_KEYFILE needs COLLECTPULSE_KAFKA_SSL_CERTFILE")
    redis_tls = s.redis_url.get_secret_value().startswith(("rediss://", "rediss+cluster://"))
    redis_files = s.redis_ssl_ca_file or s.redis_ssl_cert_file or s.redis_ssl_key_file
    if redis_files and not redis_tls:
        raise ValueError(
            "COLLECTPULSE_REDIS_SSL_* files are set but COLLECTPULSE_REDIS_URL does not "
            "start with rediss:// (TLS)"
        )
    if bool(s.redis_ssl_cert_file) != bool(s.redis_ssl_key_file):
        raise ValueError(
            "COLLECTPULSE_REDIS_SSL_CERT_FILE and COLLECTPULSE_REDIS_SSL_KEY_FILE go together"
        )
