"""The exporter's web config file: TLS and basic auth, in the layout of Prometheus' own.

The file named by ``COLLECTPULSE_HTTP_WEB_CONFIG_FILE`` uses the keys of
Prometheus' ``--web.config.file`` (exporter-toolkit), so one file format
serves Prometheus, its exporters and collectpulse::

    tls_server_config:
      cert_file: server.crt          # relative paths are relative to this file
      key_file: server.key
      client_ca_file: ca.crt         # for client certificates (mutual TLS)
      client_auth_type: RequireAndVerifyClientCert
      min_version: TLS12
    basic_auth_users:
      prometheus: $2y$10$...         # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\\n')

Every problem is a ``WebConfigError`` naming the file and the key.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

# Python's ssl module verifies every certificate a client presents against the CA, so
# exporter-toolkit's RequestClientCert and RequireAnyClientCert (unverified) cannot be
# offered; asking for them is an error rather than a silent upgrade or downgrade.
CLIENT_AUTH_TYPES = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
TLS_VERSIONS = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
_TOP_KEYS = {"tls_server_config", "basic_auth_users"}
_TLS_KEYS = {"cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version"}
_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")


class WebConfigError(Exception):
    """The web config file cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class TlsServerConfig:
    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None
    client_auth_type: str = "NoClientCert"
    min_version: str = "TLS12"

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = TLS_VERSIONS[self.min_version]
        context.load_cert_chain(self.cert_file, self.key_file)
        if self.client_ca_file is not None:
            context.load_verify_locations(cafile=self.client_ca_file)
        context.verify_mode = CLIENT_AUTH_TYPES[self.client_auth_type]
        return context


@dataclass(frozen=True)
class WebConfig:
    source: Path
    tls: TlsServerConfig | None = None
    #: user name -> bcrypt hash; empty means no authentication.
    users: dict[str, bytes] = field(default_factory=dict)

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.tls is None:
            return None
        try:
            return self.tls.ssl_context()
        except (ssl.SSLError, OSError) as exc:
            raise WebConfigError(
                f"{self.source}: tls_server_config: the certificate, key or client CA cannot "
                f"be loaded ({exc})"
            ) from None


def load_web_config(path: Path) -> WebConfig:
    """Read and check ``path``; TLS files are loaded once here so mistakes show at start-up."""
    try:
        data = YAML(typ="safe").load(path.read_text())
    except (OSError, YAMLError) as exc:
        raise WebConfigError(f"{path}: cannot be read as YAML ({exc})") from None
    data = {} if data is None else data
    where = _Where(path)
    mapping = where.mapping(data, "(top level)", _TOP_KEYS)
    tls_data = mapping.get("tls_server_config")
    config = WebConfig(
        source=path,
        tls=None if tls_data is None else _tls(where, tls_data),
        users=_users(where, mapping.get("basic_auth_users") or {}),
    )
    config.ssl_context()
    return config


@dataclass(frozen=True)
class _Where:
    path: Path

    def error(self, key: str, problem: str) -> WebConfigError:
        return WebConfigError(f"{self.path}: {key}: {problem}")

    def mapping(self, value: Any, key: str, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(key, "must be a mapping")
        unknown = sorted(str(k) for k in value if k not in allowed)
        if unknown:
            raise self.error(
                key, f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
            )
        return value

    def file(self, value: Any, key: str) -> Path:
        if not isinstance(value, str) or not value:
            raise self.error(key, "must be a file path")
        resolved = (self.path.parent / value).resolve()
        if not resolved.is_file():
            raise self.error(key, f"{resolved} is not a readable file")
        return resolved


def _tls(where: _Where, value: Any) -> TlsServerConfig:
    tls = where.mapping(value, "tls_server_config", _TLS_KEYS)
    for required in ("cert_file", "key_file"):
        if required not in tls:
            raise where.error(f"tls_server_config.{required}", "is required")
    auth_type = tls.get("client_auth_type", "NoClientCert")
    if auth_type not in CLIENT_AUTH_TYPES:
        raise where.error(
            "tls_server_config.client_auth_type",
            f"{auth_type!r} is not supported; use one of {', '.join(CLIENT_AUTH_TYPES)}",
        )
    ca = tls.get("client_ca_file")
    if auth_type != "NoClientCert" and ca is None:
        raise where.error("tls_server_config.client_ca_file", f"is required by {auth_type}")
    min_version = tls.get("min_version", "TLS12")
    if min_version not in TLS_VERSIONS:
        raise where.error(
            "tls_server_config.min_version", f"{min_version!r}: use {' or '.join(TLS_VERSIONS)}"
        )
    return TlsServerConfig(
        cert_file=where.file(tls["cert_file"], "tls_server_config.cert_file"),
        key_file=where.file(tls["key_file"], "tls_server_config.key_file"),
        client_ca_file=None if ca is None else where.file(ca, "tls_server_config.client_ca_file"),
        client_auth_type=auth_type,
        min_version=min_version,
    )


def _users(where: _Where, value: Any) -> dict[str, bytes]:
    if not isinstance(value, dict):
        raise where.error("basic_auth_users", "must be a mapping of user name to bcrypt hash")
    users = {}
    for name, hashed in value.items():
        key = f"basic_auth_users.{name}"
        if not isinstance(name, str) or not name or ":" in name:
            raise where.error(key, "a user name must be a non-empty string without ':'")
        # The hash itself is not repeated in the message: it is a secret too.
        if not isinstance(hashed, str) or not hashed.startswith(_BCRYPT_PREFIXES):
            raise where.error(key, "must be a bcrypt hash ($2y$..., as htpasswd -B writes)")
        if len(hashed) != 60:
            raise where.error(key, "is not a complete bcrypt hash (60 characters)")
        users[name] = hashed.encode()
    return users
