"""The one configuration object, read from COLLECTPULSE_* environment variables.

Nothing else in collectpulse reads ``os.environ``: components receive a
``Settings`` (or the values they need) as constructor arguments.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import (
    Field,
    FilePath,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from redis.asyncio.connection import parse_url as parse_redis_url

from collectpulse.security_check import check_security
from collectpulse.zones import parse_tenant_zones, zone

_UNITS_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_s(text: str) -> int:
    """Parse ``90s``, ``15m``, ``1h``, ``7d`` into whole seconds."""
    text = text.strip()
    if len(text) < 2 or text[-1] not in _UNITS_S or not text[:-1].isdigit():
        raise ValueError(f"{text!r} is not a duration like 90s, 15m, 1h or 7d")
    seconds = int(text[:-1]) * _UNITS_S[text[-1]]
    if seconds <= 0:
        raise ValueError(f"{text!r} must be positive")
    return seconds


Port = Annotated[int, Field(ge=1, le=65535)]


def _parse_tenant_mapping(text: str) -> dict[str, str]:
    """``tenant=value,tenant=value`` or a JSON object (as ``settings_env`` passes it on);
    the values are checked by the field's type."""
    if text.lstrip().startswith("{"):
        loaded = json.loads(text)
        if not isinstance(loaded, dict):
            raise ValueError("a JSON value must be an object of tenant to value")
        return {str(k): v for k, v in loaded.items()}
    out: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        tenant, sep, value = (s.strip() for s in part.partition("="))
        if part and (not sep or not tenant or not value):
            raise ValueError(f"{part!r} is not tenant=value (e.g. acme=agency)")
        if part:
            out[tenant] = value
    return out


class Settings(BaseSettings):
    """Service settings; every field maps to ``COLLECTPULSE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="COLLECTPULSE_", frozen=True, extra="ignore")

    # Kafka
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    # TLS files are checked at start-up (they must exist); see docs/SECURITY.md.
    kafka_ssl_cafile: FilePath | None = None
    kafka_ssl_certfile: FilePath | None = None
    kafka_ssl_keyfile: FilePath | None = None
    kafka_ssl_key_password: SecretStr | None = None
    # Kafka topic names allow only these characters (and at most 249 of them).
    topic_prefix: str = Field(default="collections.", pattern=r"^[A-Za-z0-9._-]{0,100}$")
    topic_partitions: int = Field(default=8, ge=1, le=1024)
    # Replicas of the topics collectpulse creates; unset: min(3, number of brokers).
    topic_replication_factor: int | None = Field(default=None, ge=1, le=32)
    # The worker re-reads topic metadata this often, so a topic created (or recreated)
    # while it runs is consumed within about this long (aiokafka's default is 5 minutes).
    kafka_metadata_max_age_ms: int = Field(default=3000, ge=500, le=300_000)
    consumer_group: str = Field(default="collectpulse", min_length=1, max_length=255)
    # Faust keeps its local table state here; {conf.id} is appended by Faust.
    data_dir: Path = Path(".local/worker")

    # Test-only: each switch breaks exactly-once on purpose, so that the fault harness
    # (tests/faults) can prove it catches a double count. Never set them in production:
    # a worker started with one on says so on stderr.
    unsafe_test_disable_dedupe: bool = False
    """Apply upstream duplicates (same event_id) again instead of counting them."""
    unsafe_test_disable_offset_guard: bool = False
    """Neither record nor check the store's applied offsets: redeliveries apply again."""

    # Redis
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:16379/0")
    key_prefix: str = Field(default="cp", pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    # AUTH as an ACL user, and TLS (a rediss:// URL) with a private CA or a client certificate.
    redis_username: str | None = None
    redis_password: SecretStr | None = None
    redis_ssl_ca_file: FilePath | None = None
    redis_ssl_cert_file: FilePath | None = None
    redis_ssl_key_file: FilePath | None = None
    # Redis Cluster (docs/OPERATIONS.md, "Redis Cluster"): a redis+cluster:// (or
    # rediss+cluster://) URL naming any node, or this switch with a plain URL.
    redis_cluster: bool = False
    # Before a batch is acknowledged, WAIT until this many replicas have its write
    # (None: 1 with a cluster, 0 = no WAIT for a single node) or the timeout passes.
    redis_wait_replicas: int | None = Field(default=None, ge=0, le=16)
    redis_wait_timeout_ms: int = Field(default=1000, ge=1, le=60_000)

    # Windows and retention
    bucket_size: str = "1m"
    windows: Annotated[tuple[str, ...], NoDecode] = ("1h", "24h", "7d")
    attribution_window: str = "7d"
    dedupe_horizon: str = "7d"
    # What the agent desktop's engagement API shows of a customer (store.engagement).
    engagement_history: str = "30d"
    orphan_wait: str = "15m"
    # How far ahead of the worker's clock an event's occurred_at may be; further is
    # dead-lettered as future_event (docs/DESIGN.md, "Clock skew").
    future_tolerance: str = "5m"
    # Local dates and hours per tenant (collectpulse.zones): DPD, periods, send hour.
    tenant_time_zones: Annotated[dict[str, str], NoDecode] = {}
    default_time_zone: str = "UTC"
    # K11's revenue per tenant: in_house (default, net collected) or agency (commission).
    tenant_revenue_models: Annotated[dict[str, Literal["in_house", "agency"]], NoDecode] = {}

    # Lifecycle
    # How long a worker may take after SIGTERM to finish its in-flight batches and exit.
    shutdown_timeout: str = "20s"
    # A worker that died (kill -9, a fail-fast exit, a lost machine) holds its partitions
    # this long before the group gives them to the others (Faust's default was 60 s).
    group_session_timeout: str = "15s"

    # Limits
    max_event_bytes: int = Field(default=65536, ge=256, le=10_485_760)
    label_cap: int = Field(default=200, ge=1, le=100_000)
    # The agent label per tenant: roster-active agents first, then first seen; a slot
    # frees after agent_label_idle without events (kpi-catalog section 9).
    agent_label_cap: int = Field(default=100, ge=1, le=100_000)
    agent_label_idle: str = "35d"
    team_label_cap: int = Field(default=50, ge=1, le=100_000)
    batch_max_records: int = Field(default=5000, ge=1, le=100_000)
    # A fetch waits until the broker has this much for the worker, or the wait
    # is over: bigger live batches (each batch costs two Redis round trips)
    # for at most that much added latency (docs/BENCHMARKS.md, "Live streams").
    fetch_min_bytes: int = Field(default=262_144, ge=1, le=52_428_800)
    fetch_max_wait_ms: int = Field(default=250, ge=0, le=30_000)
    struggling_min_failures: int = Field(default=3, ge=1, le=100)
    experiment_min_sample: int = Field(default=100, ge=1)
    # A customer's outcome: a succeeded payment within this after exposure (section 10).
    experiment_horizon: str = "7d"
    # Bounds on state that waits for something (docs/OPERATIONS.md, "Bounded state"): past
    # one, the event or touch is counted in state_limit_hits{limit} instead of kept.
    max_parked_per_message: int = Field(default=100, ge=1, le=100_000)
    max_parked_messages: int = Field(default=100_000, ge=1, le=100_000_000)
    """Messages with parked events per partition (the ``parked`` index)."""
    max_customer_messages: int = Field(default=200, ge=1, le=100_000)
    """Messages a customer's hash remembers for attribution (the newest sends are kept)."""

    # HTTP exporter
    http_host: str = "127.0.0.1"
    http_port: Port = 9464

    # HTTP security: TLS and basic auth from a file laid out like Prometheus' web config
    http_web_config_file: FilePath | None = None

    # Webhook gateway (docs/GATEWAY.md): a provider with no secret set is disabled.
    gateway_host: str = "127.0.0.1"
    gateway_port: Port = 9465
    # What providers call, e.g. https://hooks.example.com (Twilio signs this URL); unset:
    # the URL the request arrived on.
    gateway_public_base_url: str | None = Field(default=None, pattern=r"^https?://[^/?#]+/?$")
    gateway_max_body_bytes: int = Field(default=1_048_576, ge=1024, le=10_485_760)
    gateway_timestamp_tolerance: str = "5m"
    # How long a request waits for Kafka's acknowledgement before it is answered 503.
    gateway_publish_timeout: str = "10s"
    # Development only: accepted without any verification.
    gateway_unsigned_providers: Annotated[tuple[str, ...], NoDecode] = ()
    gateway_ses_topic_arns: Annotated[tuple[str, ...], NoDecode] = ()
    gateway_sns_cert_host_pattern: str = r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$"
    gateway_sendgrid_public_key: SecretStr | None = None
    gateway_mailgun_signing_key: SecretStr | None = None
    gateway_postmark_username: str | None = None
    gateway_postmark_password: SecretStr | None = None
    gateway_twilio_auth_token: SecretStr | None = None
    gateway_web_config_file: FilePath | None = None

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _is_host_port_list(cls, value: str) -> str:
        hosts = [h.strip() for h in value.split(",") if h.strip()]
        if not hosts:
            raise ValueError("at least one host:port is required")
        for host in hosts:
            name, _, port = host.rpartition(":")
            if not name or not port.isdigit() or not 1 <= int(port) <= 65535:
                raise ValueError(f"{host!r} is not host:port with a port from 1 to 65535")
        return value

    @field_validator("redis_url")
    @classmethod
    def _is_redis_url(cls, value: SecretStr) -> SecretStr:
        try:
            parse_redis_url(value.get_secret_value().replace("+cluster://", "://", 1))
        except ValueError:
            # never echo the value: it may carry a password
            raise ValueError(
                "is not a redis://, rediss://, redis+cluster://, rediss+cluster:// or unix:// "
                "URL with a numeric port and db "
                "(the value is not shown: it may hold a password)"
            ) from None
        return value

    @field_validator(
        "bucket_size",
        "attribution_window",
        "dedupe_horizon",
        "engagement_history",
        "orphan_wait",
        "future_tolerance",
        "experiment_horizon",
        "agent_label_idle",
        "shutdown_timeout",
        "group_session_timeout",
        "gateway_timestamp_tolerance",
        "gateway_publish_timeout",
    )
    @classmethod
    def _is_duration(cls, value: str) -> str:
        duration_s(value)
        return value

    @field_validator(
        "windows", "gateway_unsigned_providers", "gateway_ses_topic_arns", mode="before"
    )
    @classmethod
    def _split_windows(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part for part in value.replace(" ", "").split(",") if part)
        return value

    @field_validator("windows")
    @classmethod
    def _windows_are_durations(
        cls, value: tuple[str, ...], info: ValidationInfo
    ) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one window is required")
        # bucket_size is declared (so validated) first; absent here when it was invalid
        bucket = info.data.get("bucket_size")
        for window in value:
            seconds = duration_s(window)
            if bucket is not None and seconds % duration_s(bucket):
                raise ValueError(
                    f"window {window} is not a multiple of COLLECTPULSE_BUCKET_SIZE ({bucket})"
                )
        return value

    @field_validator("tenant_time_zones", mode="before")
    @classmethod
    def _parse_zones(cls, value: object) -> object:
        if isinstance(value, str):
            return parse_tenant_zones(value)
        if isinstance(value, dict):
            for name in value.values():
                zone(str(name))
        return value

    @field_validator("tenant_revenue_models", mode="before")
    @classmethod
    def _parse_models(cls, value: object) -> object:
        return _parse_tenant_mapping(value) if isinstance(value, str) else value

    @field_validator("default_time_zone")
    @classmethod
    def _is_zone(cls, value: str) -> str:
        zone(value)
        return value

    @field_validator("gateway_unsigned_providers")
    @classmethod
    def _are_providers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = ("ses", "sendgrid", "mailgun", "postmark", "twilio")
        unknown = [p for p in value if p not in known]
        if unknown:
            shown = ", ".join(repr(p) for p in unknown)  # repr: one line whatever was set
            raise ValueError(f"unknown provider(s) {shown}; use {', '.join(known)}")
        return value

    @field_validator("gateway_sns_cert_host_pattern")
    @classmethod
    def _is_pattern(cls, value: str) -> str:
        # anchored, so a pattern meant for whole host names cannot match a part of one
        if not (value.startswith("^") and value.endswith("$")):
            raise ValueError("must be anchored: start with ^ and end with $")
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"is not a regular expression ({exc})") from None
        return value

    @model_validator(mode="after")
    def _security_is_complete(self) -> Settings:
        check_security(self)
        return self

    @field_validator("group_session_timeout")
    @classmethod
    def _session_timeout_in_kafka_bounds(cls, value: str) -> str:
        # the broker's group.min/max.session.timeout.ms defaults: 6 s and 30 min
        if not 6 <= duration_s(value) <= 1800:
            raise ValueError("must be from 6s to 30m (the broker's default bounds)")
        return value

    @property
    def redis_is_cluster(self) -> bool:
        url = self.redis_url.get_secret_value()
        return self.redis_cluster or url.startswith(("redis+cluster://", "rediss+cluster://"))

    @property
    def redis_wait_for(self) -> int:
        """Replicas a batch's write must reach before it is acknowledged (0: no WAIT)."""
        if self.redis_wait_replicas is not None:
            return self.redis_wait_replicas
        return 1 if self.redis_is_cluster else 0

    @property
    def bucket_s(self) -> int:
        return duration_s(self.bucket_size)

    @property
    def windows_s(self) -> dict[str, int]:
        return {window: duration_s(window) for window in self.windows}

    @property
    def retention_s(self) -> int:
        """How long buckets live: the largest window plus the attribution horizon."""
        return max(self.windows_s.values()) + duration_s(self.attribution_window)

    @property
    def future_tolerance_s(self) -> int:
        return duration_s(self.future_tolerance)

    @property
    def shutdown_timeout_s(self) -> int:
        return duration_s(self.shutdown_timeout)

    @property
    def group_session_timeout_s(self) -> int:
        return duration_s(self.group_session_timeout)

    @property
    def gateway_timestamp_tolerance_s(self) -> int:
        return duration_s(self.gateway_timestamp_tolerance)

    @property
    def gateway_publish_timeout_s(self) -> int:
        return duration_s(self.gateway_publish_timeout)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def unsafe_test_switches(self) -> tuple[str, ...]:
        """The variables of the test-only switches that are on (empty in production)."""
        on = {
            "COLLECTPULSE_UNSAFE_TEST_DISABLE_DEDUPE": self.unsafe_test_disable_dedupe,
            "COLLECTPULSE_UNSAFE_TEST_DISABLE_OFFSET_GUARD": self.unsafe_test_disable_offset_guard,
        }
        return tuple(name for name, value in on.items() if value)


class SettingsError(Exception):
    """Configuration that cannot start the service; the message names the variable."""


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S]) -> S:
    """Build settings from the environment, turning errors into ``SettingsError``."""
    try:
        return cls()
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        problems = []
        for err in exc.errors(include_input=False, include_url=False):
            # field validators give the field's location; the cross-field security check
            # (a model validator) has none and names its variables in the message
            name = f"{prefix}{str(err['loc'][0]).upper()}" if err["loc"] else "settings"
            problems.append(f"{name}: {err['msg'].removeprefix('Value error, ')}")
        # one line, so a log shipper keeps it together
        raise SettingsError("invalid configuration: " + "; ".join(problems)) from None
