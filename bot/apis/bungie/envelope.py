"""Turning one Bungie HTTP answer into its ``Response`` or an ``ApiError``.

Bungie wraps every Platform answer in ``{Response, ErrorCode, ThrottleSeconds,
ErrorStatus, Message, MessageData}`` and does not always use the HTTP status to
say that something failed, so ``ErrorCode`` decides; the HTTP status only matters
when the body is not an envelope at all (a CDN error page, a proxy timeout).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import httpx

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

DESTINATION = "bungie"

SUCCESS = 1
SYSTEM_DISABLED = 5
THROTTLE_CODES = frozenset({31, 35, 36, 37, 51, 54, 55, 56, 57, 1672})
# Server-side failures that say nothing was done: safe to try again.
TRANSIENT_CODES = frozenset({2, 3, 27, 38, 42, 1618, 1651, 1652, 1688})
AUTH_EXPIRED_CODES = frozenset({99, 2111, 2115})
# The grant itself is unusable: the member has to link again.
AUTH_REVOKED_CODES = frozenset({2106, 2117, 2118, 2119, 2120, 2121, 2122, 2123, 2124})
# The application's own credentials are wrong or disabled: an operator problem.
APP_AUTH_CODES = frozenset({10, 2101, 2102, 2103, 2107, 2110, 2113, 2114, 2125, 2126})
PERMISSION_CODES = frozenset({12, 1666, 2105, 2108})
NOT_FOUND_CODES = frozenset({11, 21, 1402, 1601, 1620, 1653})
PRIVACY_CODES = frozenset({1665})
INVALID_REQUEST_CODES = frozenset(
    {7, 8, 9, 15, 16, 17, 18, 19, 25, 26, 28, 29, 30, 1622, 2700, 2701, 2702, 2703}
)
_FIELD_OF_CODE = {2700: "offendingCharacterId", 2703: "offendingCharacterId"}

MIN_THROTTLE_WAIT = 1.0
_MESSAGE_LIMIT = 200


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Remove every secret from ``text``: upstream messages can echo what we sent."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def _throttle_wait(body: dict[str, Any] | None, response: httpx.Response) -> float:
    hint = 0.0
    if body is not None:
        try:
            hint = float(body.get("ThrottleSeconds") or 0)
        except (TypeError, ValueError):
            hint = 0.0
    header = response.headers.get("Retry-After")
    if header is not None:
        try:
            hint = max(hint, float(header))
        except ValueError:
            pass
    return max(hint, MIN_THROTTLE_WAIT)


def parse_json_body(response: httpx.Response) -> Any | None:
    """The decoded JSON body, or ``None`` when the body is not JSON (an HTML page)."""
    content_type = response.headers.get("Content-Type", "")
    if "json" not in content_type.lower() and not response.content.lstrip().startswith(b"{"):
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def unavailable_for_status(
    response: httpx.Response, *, idempotent: bool, what: str
) -> Unavailable:
    """A failure without a usable body, judged by its HTTP status alone."""
    status = response.status_code
    if not idempotent and status in (502, 504):
        # A gateway that gave up waiting cannot tell whether the origin acted.
        return AmbiguousSend(
            f"gateway answered HTTP {status} ({what}); the request may have landed",
            destination=DESTINATION,
            status=status,
        )
    return Unavailable(f"HTTP {status} ({what})", destination=DESTINATION, status=status)


def error_for_code(
    code: int,
    *,
    status_name: str,
    message: str,
    throttle_seconds: float,
    http_status: int | None,
) -> ApiError:
    """The exception for a Bungie ``ErrorCode`` other than Success."""
    text = f"{status_name or 'error'}: {message}" if message else (status_name or "error")
    kw: dict[str, Any] = {"destination": DESTINATION, "code": code, "status": http_status}
    if code in THROTTLE_CODES:
        return Throttled(text, retry_after=max(throttle_seconds, MIN_THROTTLE_WAIT), **kw)
    if code == SYSTEM_DISABLED:
        return Maintenance(text, **kw)
    if code in TRANSIENT_CODES:
        return Unavailable(text, **kw)
    if code in AUTH_EXPIRED_CODES:
        return AuthExpired(text, **kw)
    if code in AUTH_REVOKED_CODES:
        return AuthRevoked(text, **kw)
    if code in APP_AUTH_CODES:
        return AuthError(f"{text} (check BUNGIE_API_KEY and the application settings)", **kw)
    if code in PERMISSION_CODES:
        return MissingPermission(text, **kw)
    if code in NOT_FOUND_CODES:
        return NotFound(text, **kw)
    if code in PRIVACY_CODES:
        return PrivacyRestricted(text, **kw)
    if code in INVALID_REQUEST_CODES:
        return InvalidRequest(text, field=_FIELD_OF_CODE.get(code), **kw)
    return ApiError(text, **kw)


def unwrap(
    response: httpx.Response,
    *,
    idempotent: bool = True,
    secrets: Iterable[str | None] = (),
) -> Any:
    """Return the envelope's ``Response`` or raise the ``ApiError`` it stands for."""
    status = response.status_code
    body = parse_json_body(response)
    envelope = body if isinstance(body, dict) and "ErrorCode" in body else None

    if status == 429:
        raise Throttled(
            "HTTP 429 Too Many Requests",
            retry_after=_throttle_wait(envelope, response),
            destination=DESTINATION,
            code=None if envelope is None else envelope.get("ErrorCode"),
            status=status,
        )
    if envelope is None:
        what = "not JSON" if body is None else "not a Bungie envelope"
        raise unavailable_for_status(response, idempotent=idempotent, what=what)

    try:
        code = int(envelope["ErrorCode"])
    except (TypeError, ValueError):
        raise unavailable_for_status(
            response, idempotent=idempotent, what="unreadable ErrorCode"
        ) from None
    if code == SUCCESS:
        return envelope.get("Response")

    message = redact(str(envelope.get("Message") or "")[:_MESSAGE_LIMIT], secrets)
    raise error_for_code(
        code,
        status_name=str(envelope.get("ErrorStatus") or ""),
        message=message,
        throttle_seconds=_throttle_wait(envelope, response),
        http_status=status,
    )
