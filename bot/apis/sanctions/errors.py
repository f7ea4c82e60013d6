"""Turning the sanctions API's answers into Warden's error hierarchy.

The API answers errors as ``{auth_success, error_code, desc}`` (``HzApiErrorModel``)
or, for validation, ``{detail: [{loc, msg, type}]}``. What an error *means* depends
on which credential was used, so the caller says which kind of exchange it was.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

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

DESTINATION = "sanctions"
DEFAULT_THROTTLE_WAIT = 1.0
_MAX_DESC = 200
_JWT_LIKE = re.compile(r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*")


class Exchange(enum.Enum):
    """Which credential a request carried; decides what an auth failure means."""

    BEARER = "bearer"
    """A service or player access token: an auth failure means refresh and retry."""
    SERVICE_GRANT = "service_grant"
    """Client credentials for the service token: a failure means Warden is misconfigured."""
    PLAYER_GRANT = "player_grant"
    """Code exchange or refresh for a player: a failure means the member must relink."""


# Player-grant failures that are Warden's configuration, not the member's grant.
_CONFIG_CODES = frozenset(
    {
        "client_credentials_invalid",
        "client_auth_disabled",
        "user_auth_disabled",
        "refresh_disabled",
        "invalid_grant_type",
        "no_redirects_configured",
        "redirect_uri_does_not_match",
    }
)
# Player-grant failures caused by the account's state: relinking will not help, the
# member has to sort it out in the game (agreements, restrictions, never played).
_ACCOUNT_CODES = frozenset(
    {
        "user_needs_agreements",
        "user_auth_restricted",
        "create_new_user_not_allowed",
        "does_not_meet_ownership_reqs",
        "too_many_users",
    }
)
# Failures the API itself says may pass if retried later.
_TRANSIENT_CODES = frozenset(
    {"internal_error", "authentication_limited", "authentication_locked", "failed_to_save_tokens"}
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove anything token-like from upstream text before it reaches a message or log."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return _JWT_LIKE.sub("[redacted]", text)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def json_body(response: httpx.Response) -> Any | None:
    """The parsed body when it is the API's JSON; None for HTML, text or garbage."""
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type and not response.content.lstrip().startswith((b"{", b"[")):
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def is_auth_rejection(response: httpx.Response) -> bool:
    """401, or 403 with ``auth_success: false``: the token itself was refused."""
    if response.status_code == 401:
        return True
    if response.status_code != 403:
        return False
    body = json_body(response)
    return isinstance(body, dict) and body.get("auth_success") is False


def _field_from_loc(loc: Any) -> str | None:
    if not isinstance(loc, list):
        return None
    # FastAPI prefixes where the value came from; the caller cares about the name.
    parts = [str(p) for p in loc if p not in ("body", "path", "query", "header")]
    return ".".join(parts) or None


def _validation_error(body: dict[str, Any], status: int, secrets: Iterable[str]) -> ApiError:
    detail = body.get("detail")
    if isinstance(detail, list) and detail and all(isinstance(d, dict) for d in detail):
        fields = [_field_from_loc(d.get("loc")) for d in detail]
        parts = [
            f"{f or 'request'}: {d.get('msg', 'invalid')}"
            for f, d in zip(fields, detail, strict=True)
        ]
        message = redact("; ".join(parts), secrets)[: _MAX_DESC * 2]
        return InvalidRequest(
            f"rejected as invalid ({message})",
            field=fields[0],
            destination=DESTINATION,
            code=str(detail[0].get("type") or "validation_error"),
            status=status,
        )
    return InvalidRequest(
        "rejected as invalid", destination=DESTINATION, code="validation_error", status=status
    )


def error_for(
    response: httpx.Response,
    *,
    exchange: Exchange,
    non_idempotent: bool = False,
    secrets: Iterable[str] = (),
) -> ApiError:
    """The ``ApiError`` for a non-2xx answer (or a 2xx answer that is not the API's).

    ``non_idempotent``: a 500/502/504 or an unreadable success to a create may hide a
    report that did land, so it becomes ``AmbiguousSend`` and the caller reconciles.
    """
    status = response.status_code
    secrets = tuple(secrets)
    kw: dict[str, Any] = {"destination": DESTINATION, "status": status}

    if status == 429:
        wait = parse_retry_after(response.headers.get("retry-after"))
        return Throttled(
            "rate limited", retry_after=DEFAULT_THROTTLE_WAIT if wait is None else wait, **kw
        )
    if status == 503:
        exc = Unavailable("service unavailable", **kw)
        exc.retry_after = parse_retry_after(response.headers.get("retry-after"))
        return exc

    body = json_body(response)
    if not isinstance(body, dict):
        if status == 401:
            return _auth_failure(exchange, None, "not authenticated", kw)
        shape = "HTML" if b"<html" in response.content[:512].lower() else "non-JSON"
        message = f"answered HTTP {status} with a {shape} body, not the API's"
        if non_idempotent and (status < 300 or status in (500, 502, 504)):
            return AmbiguousSend(message + "; the request may have landed", **kw)
        return Unavailable(message, **kw)

    code = body.get("error_code")
    code = code if isinstance(code, str) and code else None
    raw_desc = body.get("desc") if isinstance(body.get("desc"), str) else body.get("detail")
    desc = redact(raw_desc if isinstance(raw_desc, str) else f"HTTP {status}", secrets)[:_MAX_DESC]
    kw["code"] = code

    if status >= 500 or status < 300:
        if non_idempotent and status in (500, 502, 504):
            return AmbiguousSend(f"{desc}; the request may have landed", **kw)
        if status < 300:
            return Unavailable("answered with a body that is not the API's", **kw)
        return Unavailable(desc, **kw)
    if status == 422:
        return _validation_error(body, status, secrets)
    if status == 400:
        if code == "source_player_required":
            return InvalidRequest(desc, field="source_player_uuid", **kw)
        if code == "invalid_token_claims":
            return AuthError(f"{desc} (a service token was used where a player is needed)", **kw)
        return InvalidRequest(desc, **kw)
    if status == 401:
        return _auth_failure(exchange, code, desc, kw)
    if status == 403:
        if code == "insufficient_permissions":
            return MissingPermission(desc, **kw)
        if code in _TRANSIENT_CODES:
            return Unavailable(desc, **kw)
        if code is not None and code.startswith("auth_"):
            if code == "auth_token_expired":
                return AuthExpired(desc, **kw)
            return AuthError(desc, **kw)
        if exchange is not Exchange.BEARER or body.get("auth_success") is False:
            return _auth_failure(exchange, code, desc, kw)
        return AuthError(desc, **kw)
    if status == 404:
        return NotFound(desc, **kw)
    return InvalidRequest(desc, **kw)


def _auth_failure(exchange: Exchange, code: str | None, desc: str, kw: dict[str, Any]) -> ApiError:
    if exchange is Exchange.SERVICE_GRANT:
        return AuthError(f"client credentials refused: {desc}", **kw)
    if exchange is Exchange.PLAYER_GRANT:
        if code in _CONFIG_CODES or code in _ACCOUNT_CODES:
            return AuthError(desc, **kw)
        return AuthRevoked(f"{desc}; the member must link their account again", **kw)
    if code is None or code == "auth_token_expired":
        return AuthExpired(desc, **kw)
    return AuthError(desc, **kw)
