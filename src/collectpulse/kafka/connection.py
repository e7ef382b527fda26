"""Client options for aiokafka and Faust from `Settings`: servers, TLS, SASL credentials.

Every Kafka client of the project (Faust's consumer and producer, the admin
clients, the exporter's lag checks, the simulator) is configured here, so one
set of COLLECTPULSE_KAFKA_* settings secures all of them.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from aiokafka.helpers import create_ssl_context

from collectpulse.settings import Settings

if TYPE_CHECKING:
    from faust.types.auth import CredentialsT


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The client TLS context (CA to trust, optional client certificate for mutual TLS)."""
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    key_password = settings.kafka_ssl_key_password
    context: ssl.SSLContext = create_ssl_context(
        cafile=_path(settings.kafka_ssl_cafile),
        certfile=_path(settings.kafka_ssl_certfile),
        keyfile=_path(settings.kafka_ssl_keyfile),
        password=key_password.get_secret_value() if key_password else None,
    )
    return context


def kafka_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments shared by aiokafka's producer, consumer, admin and plain client."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    context = ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.kafka_security_protocol.startswith("SASL_"):
        password = settings.kafka_sasl_password
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = password.get_secret_value() if password else None
    return options


def faust_credentials(settings: Settings) -> CredentialsT | None:
    """The same security as ``kafka_options``, as Faust's ``broker_credentials``.

    Faust passes these to the aiokafka consumer and producer it builds (our
    ``batchkafka://`` transport inherits that from Faust's aiokafka driver).
    """
    import faust  # here, not at the top: the exporter and simulator do not need Faust

    context = ssl_context(settings)
    if settings.kafka_security_protocol.startswith("SASL_"):
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password else None,
            ssl_context=context,
            mechanism=settings.kafka_sasl_mechanism,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def _path(value: object) -> str | None:
    return None if value is None else str(value)


__all__ = ["faust_credentials", "kafka_options", "ssl_context"]
