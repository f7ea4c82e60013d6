"""Bungie's envelope -> Warden's exception hierarchy, one answer at a time."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bot.apis.bungie.envelope import unwrap
from bot.apis.bungie.oauth import parse_token_response
from bot.apis.errors import (
    AmbiguousSend,
    ApiError,
    AuthError,
    AuthExpired,
    AuthRevoked,
    InvalidRequest,
    Maintenance,
    MissingPermission,
    NotFound,
    PrivacyRestricted,
    Throttled,
    Unavailable,
)


def envelope(code: int, *, status: int = 200, throttle: int = 0, message: str = "nope",
             response: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"Response": response, "ErrorCode": code, "ThrottleSeconds": throttle,
            "ErrorStatus": f"Code{code}", "Message": message, "MessageData": {}}
    return httpx.Response(status, json=body, headers=headers)


def test_success_returns_the_response() -> None:
    assert unwrap(envelope(1, response={"a": 1})) == {"a": 1}


def test_error_code_wins_over_http_200() -> None:
    with pytest.raises(NotFound):
        unwrap(envelope(1653, status=200))


@pytest.mark.parametrize("code", [31, 35, 36, 37, 51, 54, 55, 56, 57, 1672])
def test_throttle_codes(code: int) -> None:
    with pytest.raises(Throttled) as info:
        unwrap(envelope(code, throttle=4))
    assert info.value.retry_after == 4
    assert info.value.code == str(code)


def test_throttle_waits_at_least_one_second() -> None:
    with pytest.raises(Throttled) as info:
        unwrap(envelope(36, throttle=0))
    assert info.value.retry_after == 1


def test_http_429_is_throttled_with_or_without_envelope() -> None:
    with pytest.raises(Throttled) as info:
        unwrap(envelope(51, status=429, throttle=3))
    assert info.value.retry_after == 3
    with pytest.raises(Throttled) as info:
        unwrap(httpx.Response(429, text="slow down", headers={"Retry-After": "6"}))
    assert info.value.retry_after == 6
    with pytest.raises(Throttled) as info:
        unwrap(httpx.Response(429, text="slow down"))
    assert info.value.retry_after == 1


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (5, Maintenance),
        (3, Unavailable),
        (1618, Unavailable),
        (99, AuthExpired),
        (2111, AuthExpired),
        (2115, AuthExpired),
        (2118, AuthRevoked),
        (2123, AuthRevoked),
        (2124, AuthRevoked),
        (2108, MissingPermission),
        (12, MissingPermission),
        (1653, NotFound),
        (11, NotFound),
        (1601, NotFound),
        (1665, PrivacyRestricted),
        (2700, InvalidRequest),
        (2701, InvalidRequest),
        (2702, InvalidRequest),
        (2703, InvalidRequest),
        (7, InvalidRequest),
        (8, InvalidRequest),
        (18, InvalidRequest),
        (2101, AuthError),
    ],
)
def test_error_codes(code: int, error: type[ApiError]) -> None:
    with pytest.raises(error) as info:
        unwrap(envelope(code, status=400 if code not in (3, 5) else 503))
    assert type(info.value) is error
    assert info.value.code == str(code)
    assert info.value.destination == "bungie"


def test_invalid_request_names_the_field_for_report_checks() -> None:
    with pytest.raises(InvalidRequest) as info:
        unwrap(envelope(2700))
    assert info.value.field == "offendingCharacterId"


def test_api_key_rejection_is_not_mistaken_for_an_expired_member_token() -> None:
    with pytest.raises(AuthError) as info:
        unwrap(envelope(2101, status=401))
    assert not isinstance(info.value, AuthExpired | AuthRevoked)
    assert "BUNGIE_API_KEY" in str(info.value)


def test_unknown_code_is_a_plain_api_error() -> None:
    with pytest.raises(ApiError) as info:
        unwrap(envelope(1234567))
    assert type(info.value) is ApiError


@pytest.mark.parametrize("status", [200, 500, 503])
def test_html_body_is_unavailable(status: int) -> None:
    page = httpx.Response(status, text="<html><body>Maintenance</body></html>",
                          headers={"Content-Type": "text/html"})
    with pytest.raises(Unavailable) as info:
        unwrap(page)
    assert type(info.value) is Unavailable


def test_json_that_is_not_an_envelope_is_unavailable() -> None:
    with pytest.raises(Unavailable):
        unwrap(httpx.Response(200, json={"hello": "world"}))
    with pytest.raises(Unavailable):
        unwrap(httpx.Response(200, json={"ErrorCode": "x"}))


def test_gateway_timeout_is_ambiguous_only_for_non_idempotent_calls() -> None:
    gateway = httpx.Response(504, text="Gateway Time-out")
    with pytest.raises(AmbiguousSend):
        unwrap(gateway, idempotent=False)
    with pytest.raises(Unavailable) as info:
        unwrap(gateway, idempotent=True)
    assert not isinstance(info.value, AmbiguousSend)


def test_messages_never_carry_secrets() -> None:
    leaky = envelope(18, message="bad header X-API-Key: key-123 and Bearer tok-456")
    with pytest.raises(InvalidRequest) as info:
        unwrap(leaky, secrets=("key-123", "tok-456", None))
    assert "key-123" not in str(info.value)
    assert "tok-456" not in str(info.value)


# ---- token endpoint ----------------------------------------------------------------------

TOKENS = {"access_token": "a", "token_type": "Bearer", "expires_in": 3600,
          "refresh_token": "r", "refresh_expires_in": 7776000, "membership_id": "4242"}


def test_token_answer_is_parsed_with_membership_id_as_int() -> None:
    tokens = parse_token_response(httpx.Response(200, json=TOKENS))
    assert tokens.membership_id == 4242
    assert tokens.refresh_token == "r"
    assert "'a'" not in repr(tokens) and "'r'" not in repr(tokens)


def test_public_client_answer_has_no_refresh_token() -> None:
    body = {k: v for k, v in TOKENS.items() if not k.startswith("refresh")}
    tokens = parse_token_response(httpx.Response(200, json=body))
    assert tokens.refresh_token is None


@pytest.mark.parametrize(
    ("error", "status", "expected"),
    [
        ("invalid_grant", 400, AuthRevoked),
        ("invalid_request", 400, InvalidRequest),
        ("unsupported_grant_type", 400, InvalidRequest),
        ("invalid_client", 401, AuthError),
        ("server_error", 400, AuthError),
    ],
)
def test_oauth_errors(error: str, status: int, expected: type[ApiError]) -> None:
    answer = httpx.Response(status, json={"error": error, "error_description": "secret-r"})
    with pytest.raises(expected) as info:
        parse_token_response(answer, secrets=["secret-r"])
    assert type(info.value) is expected
    assert "secret-r" not in str(info.value)


def test_token_answer_missing_fields_names_fields_not_values() -> None:
    answer = httpx.Response(200, json={"access_token": "leaky-token"})
    with pytest.raises(Unavailable) as info:
        parse_token_response(answer)
    assert "leaky-token" not in str(info.value)
    assert "expires_in" in str(info.value)


def test_token_endpoint_maintenance_envelope_and_html() -> None:
    with pytest.raises(Maintenance):
        parse_token_response(envelope(5, status=503))
    with pytest.raises(Unavailable):
        parse_token_response(httpx.Response(502, text="<html>bad gateway</html>",
                                            headers={"Content-Type": "text/html"}))
    with pytest.raises(Throttled):
        parse_token_response(httpx.Response(429, text=json.dumps({"error": "slow"})))
