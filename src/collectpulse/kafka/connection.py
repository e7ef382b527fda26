"""Client options for aiokafka from `Settings`: servers, security, credentials."""

from __future__ import annotations

from typing import Any

from aiokafka.helpers import create_ssl_context

from collectpulse.settings import Settings


def kafka_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments shared by aiokafka's producer and admin client."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(
            cafile=_path(settings.kafka_ssl_cafile),
            certfile=_path(settings.kafka_ssl_certfile),
            keyfile=_path(settings.kafka_ssl_keyfile),
        )
    if settings.kafka_security_protocol.startswith("SASL_"):
        password = settings.kafka_sasl_password
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism or "PLAIN"
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = password.get_secret_value() if password else None
    return options


def _path(value: object) -> str | None:
    return None if value is None else str(value)


__all__ = ["kafka_options"]
