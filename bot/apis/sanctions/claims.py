"""Reading a token's claims without verifying it.

Warden never trusts these claims for access decisions (the API does that); it reads
them only to report what a token seems to allow and when it expires.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any

# RallyHere does not document its claim names; these are the usual places.
_PERMISSION_CLAIMS = ("permissions", "perms", "scope", "scp", "scopes")


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, or None if the token is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError):
        return None
    return claims if isinstance(claims, dict) else None


def permissions_in(claims: dict[str, Any] | None) -> tuple[str, ...] | None:
    """Permission strings carried by the claims, or None when none can be found."""
    if claims is None:
        return None
    for name in _PERMISSION_CLAIMS:
        value = claims.get(name)
        if isinstance(value, str):
            return tuple(value.split())
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
    return None


def grants(permissions: Iterable[str], needed: str) -> bool:
    """Whether ``needed`` is held, directly or through a ``prefix:*`` wildcard."""
    for held in permissions:
        if held == needed or held == "*":
            return True
        if held.endswith(":*") and needed.startswith(held[:-1]):
            return True
    return False


def expiry(claims: dict[str, Any] | None) -> float | None:
    """The ``exp`` claim as a Unix timestamp, if present."""
    if claims is None:
        return None
    exp = claims.get("exp")
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None
