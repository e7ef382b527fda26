"""The web config file (Prometheus' layout): every mistake names the file and the key."""

from __future__ import annotations

import ssl
from pathlib import Path

import bcrypt
import pytest
from tests.support.certs import CertificateAuthority

from collectpulse.exporter.webconfig import WebConfigError, load_web_config

HASH = bcrypt.hashpw(b"scrape-pass", bcrypt.gensalt(rounds=4)).decode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> CertificateAuthority:
    ca = CertificateAuthority.create(tmp_path_factory.mktemp("pki"))
    ca.issue("exporter")
    return ca


def _write(pki: CertificateAuthority, text: str) -> Path:
    path = pki.directory / "web.yml"
    path.write_text(text)
    return path


def test_tls_and_users_load_with_paths_relative_to_the_file(pki: CertificateAuthority) -> None:
    config = load_web_config(
        _write(
            pki,
            "tls_server_config:\n"
            "  cert_file: exporter.crt\n"
            "  key_file: exporter.key\n"
            f"  client_ca_file: {pki.ca_cert.name}\n"
            "  client_auth_type: RequireAndVerifyClientCert\n"
            "basic_auth_users:\n"
            f"  prometheus: '{HASH}'\n",
        )
    )
    assert config.tls is not None
    assert config.tls.cert_file == pki.directory / "exporter.crt"
    assert config.users == {"prometheus": HASH.encode()}
    context = config.ssl_context()
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_an_empty_file_means_plain_http_without_auth(pki: CertificateAuthority) -> None:
    config = load_web_config(_write(pki, ""))
    assert config.tls is None
    assert config.users == {}
    assert config.ssl_context() is None


def test_htpasswd_2y_hashes_are_accepted(pki: CertificateAuthority) -> None:
    config = load_web_config(
        _write(pki, f"basic_auth_users:\n  p: '{HASH.replace('$2b$', '$2y$')}'\n")
    )
    assert bcrypt.checkpw(b"scrape-pass", config.users["p"])


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("tls_server_config: {cert_file: exporter.crt}\n", "tls_server_config.key_file"),
        (
            "tls_server_config: {cert_file: nope.crt, key_file: exporter.key}\n",
            "tls_server_config.cert_file",
        ),
        (
            "tls_server_config: {cert_file: exporter.crt, key_file: exporter.key,"
            " client_auth_type: RequireAndVerifyClientCert}\n",
            "tls_server_config.client_ca_file",
        ),
        (
            "tls_server_config: {cert_file: exporter.crt, key_file: exporter.key,"
            " client_auth_type: RequireAnyClientCert}\n",
            "tls_server_config.client_auth_type",
        ),
        (
            "tls_server_config: {cert_file: exporter.crt, key_file: exporter.key,"
            " min_version: TLS10}\n",
            "tls_server_config.min_version",
        ),
        (
            "tls_server_config: {cert_file: exporter.crt, key_file: collectpulse-test-ca.key}\n",
            "tls_server_config",
        ),
        ("basic_auth_users: {prometheus: plain-text-password}\n", "basic_auth_users.prometheus"),
        ("basic_auth_users: [prometheus]\n", "basic_auth_users"),
        ("http_server_config: {http2: false}\n", "(top level)"),
        (
            "tls_server_config: {cert_file: a, key_file: b, cipher_suites: []}\n",
            "tls_server_config",
        ),
        ("basic_auth_users: {prometheus: [\n", "cannot be read as YAML"),
    ],
)
def test_a_bad_file_names_the_file_and_the_key(
    pki: CertificateAuthority, text: str, key: str
) -> None:
    path = _write(pki, text)
    with pytest.raises(WebConfigError) as caught:
        load_web_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert key in message
    assert "plain-text-password" not in message
