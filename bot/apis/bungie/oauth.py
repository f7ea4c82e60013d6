"""Bungie's OAuth 2.0 authorization-code flow: the URL a member opens and the
token endpoint's answers.

Bungie fixes scopes at app registration and uses the one registered redirect
URL, so the authorize URL carries neither ``scope`` nor ``redirect_uri``: adding
them only risks a rejected request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

import httpx
from pydantic import ValidationError

from bot.apis.bungie.envelope import (
    DESTINATION,
    MIN_THROTTLE_WAIT,
    parse_json_body,
    redact,
    unavailable_for_status,
    unwrap,
)
from bot.apis.bungie.models import BungieTokens
from bot.apis.errors import AuthError, AuthRevoked, InvalidRequest, Throttled, Unavailable

# RFC 6749 §5.2 error codes that mean the request itself was malformed (our bug),
# as opposed to a grant that is gone or a client that is misconfigured.
_MALFORMED = frozenset({"invalid_request", "unsupported_grant_type", "invalid_scope"})
_DESCRIPTION_LIMIT = 200


def build_authorize_url(authorize_url: str, *, client_id: str, state: str) -> str:
    query = urlencode({"client_id": client_id, "response_type": "code", "state": state})
    separator = "&" if "?" in authorize_url else "?"
    return f"{authorize_url}{separator}{query}"


def parse_token_response(
    response: httpx.Response, *, secrets: Iterable[str | None] = ()
) -> BungieTokens:
    """``BungieTokens`` from a token-endpoint answer, or the matching ``ApiError``.

    The token endpoint speaks OAuth (``{"error": ...}``), not the Platform
    envelope, but a Bungie-wide failure (maintenance, throttling) can still come
    back as an envelope, so both shapes are understood.
    """
    status = response.status_code
    body = parse_json_body(response)
    secrets = list(secrets)

    if isinstance(body, dict) and "ErrorCode" in body:
        unwrap(response, idempotent=False, secrets=secrets)  # raises unless ErrorCode is 1
        raise Unavailable(
            "token endpoint answered an envelope without tokens",
            destination=DESTINATION,
            status=status,
        )
    if status == 429:
        raise Throttled(
            "HTTP 429 Too Many Requests from the token endpoint",
            retry_after=_retry_after(response),
            destination=DESTINATION,
            status=status,
        )
    if not isinstance(body, dict):
        raise unavailable_for_status(response, idempotent=False, what="token answer is not JSON")
    if "error" in body:
        raise _oauth_error(body, status=status, secrets=secrets)
    if status >= 400:
        raise unavailable_for_status(response, idempotent=False, what="token answer")
    try:
        return BungieTokens.model_validate(body)
    except ValidationError as exc:
        # Only field names go into the message: the values are tokens.
        fields = sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()})
        raise Unavailable(
            f"token answer is missing or has bad fields: {', '.join(fields)}",
            destination=DESTINATION,
            status=status,
        ) from None


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(float(response.headers.get("Retry-After", "0")), MIN_THROTTLE_WAIT)
    except ValueError:
        return MIN_THROTTLE_WAIT


def _oauth_error(body: dict[str, Any], *, status: int, secrets: list[str | None]) -> Exception:
    error = str(body.get("error") or "unknown_error")[:64]
    description = redact(str(body.get("error_description") or "")[:_DESCRIPTION_LIMIT], secrets)
    text = f"{error}: {description}" if description else error
    if error == "invalid_grant":
        return AuthRevoked(f"the authorization is no longer valid ({text})",
                           destination=DESTINATION, code=error, status=status)
    if error in _MALFORMED:
        return InvalidRequest(text, destination=DESTINATION, code=error, status=status)
    if error in ("invalid_client", "unauthorized_client"):
        return AuthError(f"{text} (check BUNGIE_CLIENT_ID and BUNGIE_CLIENT_SECRET)",
                         destination=DESTINATION, code=error, status=status)
    return AuthError(text, destination=DESTINATION, code=error, status=status)
