"""The browser half of linking a game account: where to send the member, and how to
read what comes back to Warden's callback."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from bot.apis.errors import AuthError, InvalidRequest
from bot.apis.sanctions.errors import DESTINATION, redact
from bot.apis.sanctions.models import STATE_MAX, OAuthCallback
from bot.domain import GamePlatform

# error_code_v2 values that mean Warden's setup is wrong rather than the member's login.
_SETUP_ERRORS = frozenset(
    {"no_redirects_configured", "redirect_uri_does_not_match", "client_credentials_invalid"}
)


def authorize_url(base_url: str, platform: GamePlatform, redirect_uri: str, state: str) -> str:
    platform = GamePlatform(platform)
    if not redirect_uri:
        raise InvalidRequest("redirect_uri is empty", field="redirect_uri", destination=DESTINATION)
    if not state or len(state) > STATE_MAX:
        raise InvalidRequest(
            f"state must be 1-{STATE_MAX} characters", field="state", destination=DESTINATION
        )
    query = urlencode({"redirect_uri": redirect_uri, "state": state})
    return f"{base_url.rstrip('/')}/users/v1/oauth/login/{platform.value}?{query}"


def parse_callback(params: Mapping[str, str]) -> OAuthCallback:
    """The ``code`` and ``state`` from the redirect back, or an ``AuthError`` naming why
    the login failed (``error_code_v2``, falling back to the deprecated ``error_code``).

    The state is returned, not checked: the caller owns the states it issued.
    """
    error = params.get("error_code_v2") or params.get("error_code") or params.get("error")
    if error:
        # Echoed from a query string anyone can craft: keep it short and token-free.
        description = redact(params.get("error_description") or "login failed")[:200]
        hint = " (check the registered redirect URI)" if error in _SETUP_ERRORS else ""
        raise AuthError(
            f"login failed: {description}{hint}", destination=DESTINATION, code=error[:64]
        )
    code = params.get("code")
    if not code:
        raise AuthError("the login redirect carried no code", destination=DESTINATION)
    return OAuthCallback(code=code, state=params.get("state", ""))
