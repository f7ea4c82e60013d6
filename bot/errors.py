"""Errors whose message is meant for the member who caused them.

Services raise these with a specific, actionable sentence; cogs show it
ephemerally. Anything else is a bug: the member gets a generic apology and the
traceback goes to the log with the interaction id.
"""

from __future__ import annotations

from bot.i18n.text import t


class UserFacingError(Exception):
    """A refusal or problem to show the member as is (already safe to display)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAllowed(UserFacingError):
    """The member may not do this (permissions, self-report, someone else's report)."""


class RateLimited(UserFacingError):
    """A durable report limit was hit; ``retry_at`` is when the member may try again."""

    def __init__(self, message: str, *, retry_at: float) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class InvalidInput(UserFacingError):
    """The member's input is malformed or out of bounds."""


class NeedsLink(UserFacingError):
    """The action needs an account link that is missing or no longer works."""

    def __init__(self, message: str, *, providers: list[str]) -> None:
        super().__init__(message)
        self.providers = providers


class Restarting(UserFacingError):
    """Warden is shutting down (a restart or an upgrade) and takes no new reports."""

    MESSAGE = t("Warden is restarting, so this did not go through. Please try again in a "
                "minute.")

    def __init__(self, message: str = MESSAGE) -> None:
        super().__init__(message)
