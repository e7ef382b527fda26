"""Postmark: basic auth is the only check Postmark offers (no signature, no timestamp)."""

import base64

import pytest
from tests.support.webhook_signing import basic_auth, postmark_delivery, webhook_request

from collectpulse.gateway.verify.base import Accepted, Refusal
from collectpulse.gateway.verify.postmark import PostmarkVerifier

USER, PASSWORD = "collectpulse", "s3cret:with-colon"


@pytest.fixture(scope="module")
def verifier() -> PostmarkVerifier:
    return PostmarkVerifier(username=USER, password=PASSWORD)


async def test_right_credentials_are_published_under_the_message_id(
    verifier: PostmarkVerifier,
) -> None:
    request = webhook_request("postmark", postmark_delivery("pm-1"), basic_auth(USER, PASSWORD))
    assert await verifier.verify(request) == Accepted(publish=True, key=b"pm-1")


@pytest.mark.parametrize(
    "headers",
    [
        basic_auth(USER, "wrong"),
        basic_auth("someone", PASSWORD),
        basic_auth(USER, PASSWORD + "x"),
        basic_auth(USER.upper(), PASSWORD),
    ],
)
async def test_wrong_credentials_are_refused(
    verifier: PostmarkVerifier, headers: dict[str, str]
) -> None:
    result = await verifier.verify(webhook_request("postmark", postmark_delivery(), headers))
    assert result == Refusal(401, "bad_credentials", "basic auth credentials do not match")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer abc",
        "Basic not-base64!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
    ],
)
async def test_missing_or_unreadable_credentials_are_refused(
    verifier: PostmarkVerifier, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    result = await verifier.verify(webhook_request("postmark", postmark_delivery(), headers))
    assert result == Refusal(401, "bad_credentials", "no basic auth credentials")


async def test_authenticated_body_that_is_not_a_json_object_is_malformed(
    verifier: PostmarkVerifier,
) -> None:
    request = webhook_request("postmark", b"[1, 2]", basic_auth(USER, PASSWORD))
    assert await verifier.verify(request) == Refusal(400, "malformed", "body is not a JSON object")


def test_unset_credentials_stop_start_up() -> None:
    with pytest.raises(ValueError, match="both be set"):
        PostmarkVerifier(username=USER, password="")
