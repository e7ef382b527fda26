"""The one way to open Redis: URL, ACL user, TLS files, single node or cluster, from `Settings`.

The worker, the exporter and anything else that talks to Redis call
:func:`redis_client`, so AUTH, TLS and the cluster switch are configured in one
place. A ``redis+cluster://`` / ``rediss+cluster://`` URL (or
``COLLECTPULSE_REDIS_CLUSTER=true``) gives redis-py's ``RedisCluster``: it
discovers the nodes from the one named, routes every command by its keys' slot
and follows MOVED / ASK. The store code is the same for both clients
(``StoreClient``): every script declares its keys, all in one ``{pN}`` slot.
"""

from __future__ import annotations

import ssl
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import ClusterPipeline

from collectpulse.settings import Settings

CONNECT_TIMEOUT_S = 5.0
"""A server that does not finish TCP + TLS set-up in this time is reported, not waited on."""

StoreClient = Redis | RedisCluster
StorePipeline = Pipeline | ClusterPipeline


def redis_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``Redis.from_url`` beyond the URL itself."""
    options: dict[str, Any] = {"socket_connect_timeout": CONNECT_TIMEOUT_S}
    if settings.redis_username is not None:
        options["username"] = settings.redis_username
    if settings.redis_password is not None:
        options["password"] = settings.redis_password.get_secret_value()
    if _plain_url(settings).startswith("rediss://"):
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
    """A single-node asyncio client for ``settings`` (see :func:`store_client`)."""
    return Redis.from_url(_plain_url(settings), **(redis_options(settings) | overrides))


def store_client(settings: Settings, **overrides: Any) -> StoreClient:
    """The client for ``settings``: ``RedisCluster`` when a cluster is configured."""
    if settings.redis_is_cluster:
        return RedisCluster.from_url(_plain_url(settings), **(redis_options(settings) | overrides))
    return redis_client(settings, **overrides)


def _plain_url(settings: Settings) -> str:
    """The URL without ``+cluster`` (redis-py knows only redis://, rediss://, unix://)."""
    return settings.redis_url.get_secret_value().replace("+cluster://", "://", 1)


__all__ = ["StoreClient", "StorePipeline", "redis_client", "redis_options", "store_client"]
