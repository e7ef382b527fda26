"""Start-up checks of credentials and certificates against the real Kafka and Redis.

A refused password, an untrusted certificate or an unreadable key file can
never heal by retrying, so the worker, the exporter and the simulator check
them once before they start and stop with a message naming the settings to
fix, within seconds. A server that is merely unreachable is not an error
here: it is reported to the caller, which keeps its own retry behaviour.

Messages never contain a password: they name the setting, the server and
the server's reason.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator, Sequence
from typing import Any

from aiokafka.conn import create_conn
from aiokafka.errors import (
    AuthenticationFailedError,
    AuthenticationMethodNotSupported,
    IllegalSaslStateError,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)
from aiokafka.protocol.coordination import FindCoordinatorRequest
from aiokafka.protocol.metadata import MetadataRequest
from redis.exceptions import AuthenticationError, NoPermissionError, RedisError

from collectpulse.kafka.connection import kafka_options
from collectpulse.settings import Settings
from collectpulse.store.client import redis_client

CHECK_TIMEOUT_S = 10.0
_TOPIC_DENIED, _GROUP_DENIED = 29, 30  # Kafka error codes TOPIC/GROUP_AUTHORIZATION_FAILED
"""Bound on each check: a server that accepts TCP but never answers is 'unreachable'."""

_SASL_REFUSED = (
    SaslAuthenticationFailed,
    AuthenticationFailedError,
    AuthenticationMethodNotSupported,
    UnsupportedSaslMechanismError,
    IllegalSaslStateError,
)
_KAFKA_TLS = (
    "COLLECTPULSE_KAFKA_SSL_CAFILE (the CA that signed the broker's certificate), "
    "COLLECTPULSE_KAFKA_SSL_CERTFILE and COLLECTPULSE_KAFKA_SSL_KEYFILE (a client "
    "certificate the broker trusts)"
)
_REDIS_TLS = (
    "COLLECTPULSE_REDIS_SSL_CA_FILE (the CA that signed the server's certificate), "
    "COLLECTPULSE_REDIS_SSL_CERT_FILE and COLLECTPULSE_REDIS_SSL_KEY_FILE (a client "
    "certificate the server trusts)"
)


class CredentialsError(Exception):
    """Credentials or certificates were refused or unusable; retrying cannot help."""


async def check_kafka(
    settings: Settings,
    *,
    topics: Sequence[str] = (),
    group: str | None = None,
    timeout_s: float = CHECK_TIMEOUT_S,
) -> str | None:
    """Connect to the first bootstrap server with the configured TLS and SASL.

    Returns ``None`` when the broker accepted the connection and credentials,
    a problem text when no broker could be reached; raises ``CredentialsError``
    when the broker refused them or the client's own TLS files are unusable, or
    when an authorizer denies the user even Describe on ``topics`` or ``group``
    (every ACL of docs/SECURITY.md implies Describe, so none was granted).
    """
    try:
        options = kafka_options(settings)
    except (ssl.SSLError, OSError) as exc:
        raise CredentialsError(
            f"Kafka TLS files cannot be loaded ({_reason(exc)}): check "
            "COLLECTPULSE_KAFKA_SSL_CAFILE, COLLECTPULSE_KAFKA_SSL_CERTFILE, "
            "COLLECTPULSE_KAFKA_SSL_KEYFILE and COLLECTPULSE_KAFKA_SSL_KEY_PASSWORD"
        ) from None
    options.pop("bootstrap_servers")
    problems = []
    for host, port in _servers(settings.kafka_bootstrap_servers):
        where = f"{host}:{port}"
        try:
            async with asyncio.timeout(timeout_s):
                conn = await create_conn(
                    host, port, request_timeout_ms=int(timeout_s * 1000), **options
                )
                try:
                    denied = await _denied(conn, topics, group)
                finally:
                    conn.close()
            if denied:
                raise CredentialsError(
                    f"Kafka at {where} denies the user {_principal(settings)} access to "
                    f"{', '.join(denied)} (authorization failed): grant the ACLs listed in "
                    "docs/SECURITY.md, or check COLLECTPULSE_TOPIC_PREFIX and "
                    "COLLECTPULSE_CONSUMER_GROUP"
                )
            return None
        except _SASL_REFUSED as exc:
            raise CredentialsError(
                f"Kafka at {where} refused SASL {settings.kafka_sasl_mechanism} authentication "
                f"of COLLECTPULSE_KAFKA_SASL_USERNAME={settings.kafka_sasl_username!r} "
                f"({_reason(exc)}): check COLLECTPULSE_KAFKA_SASL_USERNAME, "
                "COLLECTPULSE_KAFKA_SASL_PASSWORD and COLLECTPULSE_KAFKA_SASL_MECHANISM"
            ) from None
        except ssl.SSLError as exc:
            raise CredentialsError(
                f"TLS with Kafka at {where} failed ({_reason(exc)}): check {_KAFKA_TLS}"
            ) from None
        except KafkaConnectionError as exc:
            if "closed" in str(exc):
                raise CredentialsError(_closed_during_setup("Kafka", where, settings)) from None
            problems.append(f"{where}: {_reason(exc)}")
        except (KafkaError, OSError, TimeoutError) as exc:
            problems.append(f"{where}: {_reason(exc)}")
    return "Kafka unreachable (" + "; ".join(problems) + ")"


async def _denied(conn: Any, topics: Sequence[str], group: str | None) -> list[str]:
    """Topics and group the broker answers TOPIC/GROUP_AUTHORIZATION_FAILED for."""
    denied = []
    if topics:
        # never auto-create: the worker creates topics with the partition count it needs
        metadata = await conn.send(MetadataRequest(list(topics), allow_auto_topic_creation=False))
        denied += [f"topic {t[1]}" for t in metadata.topics if t[0] == _TOPIC_DENIED]
    if group is not None:
        coordinator = await conn.send(FindCoordinatorRequest(group, 0))
        if coordinator.error_code == _GROUP_DENIED:
            denied.append(f"group {group}")
    return denied


def _principal(settings: Settings) -> str:
    if settings.kafka_security_protocol.startswith("SASL_"):
        return f"{settings.kafka_sasl_username!r} (COLLECTPULSE_KAFKA_SASL_USERNAME)"
    return "of the client certificate (COLLECTPULSE_KAFKA_SSL_CERTFILE)"


def _closed_during_setup(what: str, where: str, settings: Settings) -> str:
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        return (
            f"{what} at {where} closed the connection during TLS set-up: it probably requires "
            f"a client certificate it trusts; check {_KAFKA_TLS}"
        )
    return (
        f"{what} at {where} closed the connection during set-up: the listener probably expects "
        "TLS or SASL; check COLLECTPULSE_KAFKA_SECURITY_PROTOCOL"
    )


async def check_redis(settings: Settings, *, timeout_s: float = CHECK_TIMEOUT_S) -> str | None:
    """PING Redis as the configured user over the configured TLS.

    Same contract as :func:`check_kafka`.
    """
    where = _redis_where(settings)
    try:
        client = redis_client(settings, socket_connect_timeout=timeout_s)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise CredentialsError(
            f"Redis client cannot be configured ({_reason(exc)}): check COLLECTPULSE_REDIS_URL, "
            "COLLECTPULSE_REDIS_SSL_CA_FILE, COLLECTPULSE_REDIS_SSL_CERT_FILE and "
            "COLLECTPULSE_REDIS_SSL_KEY_FILE"
        ) from None
    try:
        async with asyncio.timeout(timeout_s):
            await client.ping()
        return None
    except AuthenticationError as exc:
        user = settings.redis_username or "default"
        raise CredentialsError(
            f"Redis at {where} refused AUTH as user {user!r} ({_reason(exc)}): check "
            "COLLECTPULSE_REDIS_USERNAME and COLLECTPULSE_REDIS_PASSWORD (or the URL's user "
            "and password)"
        ) from None
    except NoPermissionError as exc:
        raise CredentialsError(
            f"Redis at {where}: the ACL user may not run PING ({_reason(exc)}); see the ACL "
            "in docs/SECURITY.md"
        ) from None
    except (RedisError, OSError, TimeoutError) as exc:
        tls = _tls_cause(exc)
        if tls is not None:
            raise CredentialsError(
                f"TLS with Redis at {where} failed ({_reason(tls)}): check {_REDIS_TLS}"
            ) from None
        if _closed(exc):
            if settings.redis_url.get_secret_value().startswith("rediss://"):
                hint = f"it probably requires a client certificate it trusts; check {_REDIS_TLS}"
            else:
                hint = "it probably expects TLS: use a rediss:// COLLECTPULSE_REDIS_URL"
            raise CredentialsError(
                f"Redis at {where} closed the connection during set-up: {hint}"
            ) from None
        return f"Redis unreachable at {where} ({_reason(exc)})"
    finally:
        await client.aclose()


async def check_credentials(
    settings: Settings,
    *,
    kafka_topics: Sequence[str] = (),
    kafka_group: str | None = None,
    redis: bool = True,
) -> list[str]:
    """Both checks at once; raises ``CredentialsError``, returns unreachable servers."""
    checks = [check_kafka(settings, topics=kafka_topics, group=kafka_group)]
    if redis:
        checks.append(check_redis(settings))
    results = await asyncio.gather(*checks, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [r for r in results if isinstance(r, str)]


def _servers(bootstrap: str) -> Iterator[tuple[str, int]]:
    for part in bootstrap.split(","):
        host, _, port = part.strip().rpartition(":")
        if host and port.isdigit():
            yield host.strip("[]"), int(port)


def _redis_where(settings: Settings) -> str:
    """host:port of the URL, without user or password."""
    url = settings.redis_url.get_secret_value()
    rest = url.split("://", 1)[-1].rsplit("@", 1)[-1]
    return rest.split("/", 1)[0].split("?", 1)[0]


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _tls_cause(exc: BaseException) -> ssl.SSLError | None:
    for link in _chain(exc):
        if isinstance(link, ssl.SSLError) and not isinstance(link, ssl.SSLEOFError):
            return link
    return None


def _closed(exc: BaseException) -> bool:
    return any(
        isinstance(link, ssl.SSLEOFError | ConnectionResetError | BrokenPipeError)
        or "closed" in str(link).lower()
        or "reset by peer" in str(link).lower()
        for link in _chain(exc)
    )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "..."


def faust_leader_topic(app_id: str) -> str:
    """The topic Faust's partition assignor creates and reads for app ``app_id``."""
    return f"{app_id}-__assignor-__leader"
