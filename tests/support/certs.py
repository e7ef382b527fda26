"""A throw-away certificate authority made with the openssl command at test time.

Keys are EC P-256 (fast to generate). Every leaf certificate names 127.0.0.1
and localhost, and may serve as server and as client certificate.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]


def _openssl(*args: str) -> None:
    binary = shutil.which("openssl")
    assert binary, "openssl is required (Debian package openssl, see scripts/bootstrap)"
    subprocess.run([binary, *args], check=True, capture_output=True)


@dataclass(frozen=True)
class Issued:
    name: str
    cert: Path
    key: Path
    #: PKCS#8 key followed by the certificate: a Kafka PEM keystore (ssl.keystore.type=PEM).
    keystore: Path


@dataclass(frozen=True)
class CertificateAuthority:
    directory: Path
    ca_cert: Path
    ca_key: Path

    @classmethod
    def create(cls, directory: Path, name: str = "collectpulse-test-ca") -> CertificateAuthority:
        directory.mkdir(parents=True, exist_ok=True)
        cert, key = directory / f"{name}.crt", directory / f"{name}.key"
        _openssl(
            "req", "-x509", *_EC, "-nodes", "-days", "2", "-subj", f"/CN={name}",
            "-keyout", str(key), "-out", str(cert),
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip
        return cls(directory, cert, key)

    def issue(self, name: str, *, key_password: str | None = None) -> Issued:
        d = self.directory
        key, csr, cert, ext = (
            d / f"{name}.key",
            d / f"{name}.csr",
            d / f"{name}.crt",
            d / f"{name}.ext",
        )
        ext.write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n"
        )
        _openssl(
            "req", *_EC, "-nodes", "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(csr)
        )
        _openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(self.ca_cert), "-CAkey", str(self.ca_key),
            "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert),
        )  # fmt: skip
        keystore = d / f"{name}.keystore.pem"
        pkcs8 = d / f"{name}.pk8"
        _openssl("pkcs8", "-topk8", "-nocrypt", "-in", str(key), "-out", str(pkcs8))
        keystore.write_text(pkcs8.read_text() + cert.read_text())
        if key_password is not None:
            _openssl(
                "pkcs8", "-topk8", "-in", str(pkcs8), "-out", str(key),
                "-passout", f"pass:{key_password}",
            )  # fmt: skip
        for path in (key, pkcs8, keystore):
            path.chmod(0o600)
        return Issued(name, cert, key, keystore)
