"""Every way the sanctions API can refuse, mapped to the error a caller acts on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bot.apis.errors import (
    AmbiguousSend,
    ApiError,
    AuthError,
    AuthExpired,
    AuthRevoked,
    InvalidRequest,
    MissingPermission,
    NotFound,
    Throttled,
    Unavailable,
)
from bot.apis.sanctions.claims import grants, permissions_in, unverified_claims
from bot.apis.sanctions.errors import (
    Exchange,
    error_for,
    is_auth_rejection,
    parse_retry_after,
    redact,
)
from bot.apis.sanctions.oauth import parse_callback

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def answer(
    status: int, body: Any = None, *, headers: dict[str, str] | None = None, text: str | None = None
) -> httpx.Response:
    if text is not None:
        return httpx.Response(status, text=text, headers=headers)
    return httpx.Response(status, json=body, headers=headers)


def hz(code: str, desc: str = "something", *, auth_success: bool = True) -> dict[str, Any]:
    return {"auth_success": auth_success, "error_code": code, "desc": desc}


BEARER, SERVICE, PLAYER = Exchange.BEARER, Exchange.SERVICE_GRANT, Exchange.PLAYER_GRANT


@pytest.mark.parametrize(
    ("response", "exchange", "kind", "code"),
    [
        (
            answer(400, hz("source_player_required")),
            BEARER,
            InvalidRequest,
            "source_player_required",
        ),
        (answer(400, hz("something_else")), BEARER, InvalidRequest, "something_else"),
        (answer(400, hz("invalid_token_claims")), BEARER, AuthError, "invalid_token_claims"),
        (answer(401, {"detail": "Not authenticated"}), BEARER, AuthExpired, None),
        (answer(401, text=""), BEARER, AuthExpired, None),
        (answer(401, {"detail": "nope"}), SERVICE, AuthError, None),
        (answer(401, {"detail": "nope"}), PLAYER, AuthRevoked, None),
        (
            answer(403, hz("insufficient_permissions")),
            BEARER,
            MissingPermission,
            "insufficient_permissions",
        ),
        (
            answer(403, hz("auth_token_expired", auth_success=False)),
            BEARER,
            AuthExpired,
            "auth_token_expired",
        ),
        (
            answer(403, hz("auth_token_sig_invalid", auth_success=False)),
            BEARER,
            AuthError,
            "auth_token_sig_invalid",
        ),
        (
            answer(403, hz("auth_malformed_access", auth_success=False)),
            BEARER,
            AuthError,
            "auth_malformed_access",
        ),
        (answer(403, hz("weird", auth_success=False)), BEARER, AuthError, "weird"),
        (
            answer(403, hz("client_credentials_invalid", auth_success=False)),
            SERVICE,
            AuthError,
            "client_credentials_invalid",
        ),
        (
            answer(403, hz("refresh_token_not_found", auth_success=False)),
            PLAYER,
            AuthRevoked,
            "refresh_token_not_found",
        ),
        (
            answer(403, hz("refresh_token_invalid_user", auth_success=False)),
            PLAYER,
            AuthRevoked,
            "refresh_token_invalid_user",
        ),
        (
            answer(403, hz("authorization_code_not_found", auth_success=False)),
            PLAYER,
            AuthRevoked,
            "authorization_code_not_found",
        ),
        (
            answer(403, hz("client_credentials_invalid", auth_success=False)),
            PLAYER,
            AuthError,
            "client_credentials_invalid",
        ),
        (
            answer(403, hz("user_needs_agreements", auth_success=False)),
            PLAYER,
            AuthError,
            "user_needs_agreements",
        ),
        (
            answer(403, hz("internal_error", auth_success=False)),
            PLAYER,
            Unavailable,
            "internal_error",
        ),
        (
            answer(403, hz("authentication_locked", auth_success=False)),
            PLAYER,
            Unavailable,
            "authentication_locked",
        ),
        (
            answer(404, hz("player_not_found", "Player 1 not found")),
            BEARER,
            NotFound,
            "player_not_found",
        ),
        (answer(409, hz("conflict")), BEARER, InvalidRequest, "conflict"),
        (answer(500, {"detail": "Internal Server Error"}), BEARER, Unavailable, None),
        (answer(500, text="Internal Server Error"), BEARER, Unavailable, None),
        (
            answer(
                502,
                text="<html><body>Bad Gateway</body></html>",
                headers={"content-type": "text/html"},
            ),
            BEARER,
            Unavailable,
            None,
        ),
        (
            answer(200, text="<html>captive portal</html>", headers={"content-type": "text/html"}),
            BEARER,
            Unavailable,
            None,
        ),
    ],
)
def test_mapping(
    response: httpx.Response, exchange: Exchange, kind: type[ApiError], code: str | None
) -> None:
    error = error_for(response, exchange=exchange)
    assert type(error) is kind
    assert error.code == code
    assert error.status == response.status_code
    assert error.destination == "sanctions"
    assert str(error).startswith("sanctions: ")


def test_source_player_required_names_the_field() -> None:
    error = error_for(answer(400, hz("source_player_required")), exchange=BEARER)
    assert isinstance(error, InvalidRequest) and error.field == "source_player_uuid"


@pytest.mark.parametrize(
    ("loc", "field"),
    [
        (["body", "description"], "description"),
        (["body", "custom_data", "warden_report_id"], "custom_data.warden_report_id"),
        (["path", "player_uuid"], "player_uuid"),
        (["query", "display_name", 0], "display_name.0"),
        (["body"], None),
    ],
)
def test_validation_error_names_the_field(loc: list[Any], field: str | None) -> None:
    body = {
        "detail": [
            {
                "loc": loc,
                "msg": "String should have at most 4096 characters",
                "type": "string_too_long",
            }
        ]
    }
    error = error_for(answer(422, body), exchange=BEARER)
    assert isinstance(error, InvalidRequest)
    assert error.field == field
    assert error.code == "string_too_long"
    assert "4096" in error.message


def test_validation_error_without_detail_list() -> None:
    error = error_for(answer(422, {"detail": "bad"}), exchange=BEARER)
    assert isinstance(error, InvalidRequest) and error.field is None


def test_throttle_uses_retry_after() -> None:
    error = error_for(answer(429, {}, headers={"Retry-After": "12"}), exchange=BEARER)
    assert isinstance(error, Throttled) and error.retry_after == 12.0
    error = error_for(answer(429, text="slow down"), exchange=BEARER)
    assert isinstance(error, Throttled) and error.retry_after == 1.0


def test_unavailable_carries_retry_after() -> None:
    error = error_for(answer(503, hz("down"), headers={"Retry-After": "30"}), exchange=BEARER)
    assert type(error) is Unavailable and error.retry_after == 30.0
    error = error_for(answer(503, text="<html>down</html>"), exchange=BEARER)
    assert type(error) is Unavailable and error.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 504])
def test_create_5xx_may_have_landed(status: int) -> None:
    error = error_for(answer(status, text="oops"), exchange=BEARER, non_idempotent=True)
    assert isinstance(error, AmbiguousSend)
    error = error_for(answer(status, {"detail": "x"}), exchange=BEARER, non_idempotent=True)
    assert isinstance(error, AmbiguousSend)


def test_create_503_certainly_did_not_land() -> None:
    error = error_for(answer(503, text="down"), exchange=BEARER, non_idempotent=True)
    assert type(error) is Unavailable


def test_messages_never_carry_tokens() -> None:
    body = hz("auth_token_format", f"Invalid Authorization - {JWT}", auth_success=False)
    error = error_for(answer(403, body), exchange=BEARER, secrets=("opaque-secret",))
    assert JWT not in str(error) and "[redacted]" in str(error)
    body = hz("refresh_token_not_found", "token opaque-secret unknown", auth_success=False)
    error = error_for(answer(403, body), exchange=PLAYER, secrets=("opaque-secret",))
    assert "opaque-secret" not in str(error)
    assert redact(f"a {JWT} b") == "a [redacted] b"


def test_long_descriptions_are_cut() -> None:
    error = error_for(answer(404, hz("player_not_found", "x" * 5000)), exchange=BEARER)
    assert len(error.message) <= 200


@pytest.mark.parametrize(
    ("response", "refused"),
    [
        (answer(401, text=""), True),
        (answer(403, hz("auth_token_expired", auth_success=False)), True),
        (answer(403, hz("insufficient_permissions")), False),
        (answer(403, text="<html>forbidden</html>"), False),
        (answer(404, hz("player_not_found")), False),
    ],
)
def test_auth_rejection(response: httpx.Response, refused: bool) -> None:
    assert is_auth_rejection(response) is refused


def test_retry_after_forms() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("Tue, 01 Jan 2030 00:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Mon, 31 Dec 2029 00:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None


def test_callback_error_text_is_bounded_and_token_free() -> None:
    with pytest.raises(AuthError) as caught:
        parse_callback({"error_code_v2": "x" * 500, "error_description": JWT + "y" * 500})
    assert JWT not in str(caught.value)
    assert caught.value.code is not None and len(caught.value.code) == 64
    with pytest.raises(AuthError) as caught:
        parse_callback({"error_code": "NO_CODE_IN_REQUEST"})  # the deprecated parameter
    assert caught.value.code == "NO_CODE_IN_REQUEST"


def test_claims() -> None:
    assert unverified_claims("not-a-jwt") is None
    assert unverified_claims("a.!!!.c") is None
    assert unverified_claims(JWT) == {"sub": "x"}
    assert permissions_in({"permissions": ["a:b"]}) == ("a:b",)
    assert permissions_in({"scope": "a:b c:d"}) == ("a:b", "c:d")
    assert permissions_in({"sub": "x"}) is None
    assert grants(["sanction:*"], "sanction:report:create:any")
    assert grants(["sanction:report:*"], "sanction:report:create:any")
    assert not grants(["sanction:report:create:self"], "sanction:report:create:any")
    assert not grants(["sanctions:*"], "sanction:report:create:any")
