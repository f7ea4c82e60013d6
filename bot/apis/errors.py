"""What can go wrong when Warden talks to an outside API, in terms a caller can act on.

Every client raises only these. Messages never carry tokens or secrets: they are
built from upstream error codes and short descriptions, which is what an operator
and a moderator need to read.
"""

from __future__ import annotations


class ApiError(Exception):
    """Base of every outside-API failure.

    ``destination`` names the API ("bungie", "sanctions"); ``code`` is the
    upstream's own error code (Bungie's ErrorCode name/number, RallyHere's
    ``error_code``) when there is one; ``status`` is the HTTP status, if any.
    """

    destination: str
    code: str | None
    status: int | None

    def __init__(
        self,
        message: str,
        *,
        destination: str,
        code: str | int | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.destination = destination
        self.code = None if code is None else str(code)
        self.status = status

    def __str__(self) -> str:
        suffix = f" [{self.code}]" if self.code else ""
        return f"{self.destination}: {self.message}{suffix}"


class DestinationDisabled(ApiError):
    """The destination has no credentials configured; nothing was sent."""


class Throttled(ApiError):
    """The upstream asked us to slow down; ``retry_after`` seconds is its wait hint."""

    def __init__(self, message: str, *, retry_after: float, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class Unavailable(ApiError):
    """5xx, connection refused, a timeout before sending, or a body that is not the API's.

    The request certainly did not take effect, so it is safe to send again.
    """

    retry_after: float | None = None


class AmbiguousSend(Unavailable):
    """The request was sent but no answer came back: it may or may not have landed.

    A non-idempotent call must check upstream before sending again.
    """


class Maintenance(Unavailable):
    """The upstream is down for maintenance (Bungie ``SystemDisabled``)."""


class AuthError(ApiError):
    """Base of authentication and authorisation failures."""


class AuthExpired(AuthError):
    """The access token expired: refresh it and try once more."""


class AuthRevoked(AuthError):
    """The grant is gone (refresh token expired, revoked, or invalid): the member must relink."""


class MissingPermission(AuthError):
    """The credential is valid but lacks a scope or permission (Bungie 2108, RallyHere
    ``insufficient_permissions``)."""


class NotFound(ApiError):
    """The thing asked for does not exist (player, PGCR, manifest entry)."""


class PrivacyRestricted(ApiError):
    """The thing exists but its owner keeps it private (Bungie 1665)."""


class InvalidRequest(ApiError):
    """The upstream refused the request as malformed; ``field`` names the culprit if known."""

    def __init__(self, message: str, *, field: str | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.field = field
