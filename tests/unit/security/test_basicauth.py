"""Basic auth checks bcrypt hashes and refuses everything else with a 401."""

from __future__ import annotations

import base64

import bcrypt
import pytest

from collectpulse.exporter.basicauth import BasicAuth

USERS = {"prometheus": bcrypt.hashpw(b"scrape-pass", bcrypt.gensalt(rounds=4))}


def _header(user: str, password: str, scheme: str = "Basic") -> str:
    return f"{scheme} " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_the_right_password_is_allowed_again_and_again() -> None:
    auth = BasicAuth(USERS)
    assert await auth.allows(_header("prometheus", "scrape-pass"))
    assert await auth.allows(_header("prometheus", "scrape-pass"))  # remembered


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        _header("prometheus", "wrong"),
        _header("nobody", "scrape-pass"),
        _header("prometheus", "scrape-pass", scheme="Bearer"),
        "Basic not-base64!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:scrape-pass").decode(),
        _header("prometheus", "x" * 100),  # longer than bcrypt's 72 bytes
    ],
)
async def test_anything_else_is_refused(header: str | None) -> None:
    assert not await BasicAuth(USERS).allows(header)


async def test_a_remembered_success_does_not_allow_another_password() -> None:
    auth = BasicAuth(USERS)
    assert await auth.allows(_header("prometheus", "scrape-pass"))
    assert not await auth.allows(_header("prometheus", "scrape-pass2"))
