"""The one way to open Redis: URL, ACL user, TLS files, all from `Settings`.

The worker, the exporter and anything else that talks to Redis call
:func:`redis_client`, so AUTH and TLS are configured in one place.
"""

from __future__ import annotations

import ssl
from typing import Any

from redis.asyncio import Redis

from collectpulse.settings import Settings

CONNECT_TIMEOUT_S = 5.0
"""A server that does not finish TCP + TLS set-up in this time is reported, not waited on."""


def redis_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``Redis.from_url`` beyond the URL itself."""
    options: dict[str, Any] = {"socket_connect_timeout": CONNECT_TIMEOUT_S}
    if settings.redis_username is not None:
        options["username"] = settings.redis_username
    if settings.redis_password is not None:
        options["password"] = settings.redis_password.get_secret_value()
    if settings.redis_url.get_secret_value().startswith("rediss://"):
        # Verify the server against the CA (system CAs when none is given) and its name.
        options["ssl_cert_reqs"] = ssl.CERT_REQUIRED
        options["ssl_check_hostname"] = True
        if settings.redis_ssl_ca_file is not None:
            options["ssl_ca_certs"] = str(settings.redis_ssl_ca_file)
        if settings.redis_ssl_cert_file is not None:
            options["ssl_certfile"] = str(settings.redis_ssl_cert_file)
        if settings.redis_ssl_key_file is not None:
            options["ssl_keyfile"] = str(settings.redis_ssl_key_file)
    return options


def redis_client(settings: Settings, **overrides: Any) -> Redis:
    """An asyncio Redis client for ``settings``; ``overrides`` win over the defaults."""
    return Redis.from_url(
        settings.redis_url.get_secret_value(), **(redis_options(settings) | overrides)
    )


__all__ = ["redis_client", "redis_options"]
