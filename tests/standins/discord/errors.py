"""Discord-style API errors raised inside REST handlers, and assertion errors for tests."""

from __future__ import annotations

from typing import Any


class DiscordAPIError(Exception):
    """Raised by a REST handler; the middleware turns it into Discord's error body."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            data["errors"] = self.errors
        return data


def unknown(what: str, code: int) -> DiscordAPIError:
    """404 "Unknown Channel" (10003), "Unknown Message" (10008), ... ."""
    return DiscordAPIError(404, code, f"Unknown {what}")


def form_error(path: str, error_code: str, message: str) -> DiscordAPIError:
    """400 Invalid Form Body (50035) with one nested field error, as Discord reports it."""
    errors: dict[str, Any] = {"_errors": [{"code": error_code, "message": message}]}
    for part in reversed(path.split(".")):
        errors = {part: errors}
    return DiscordAPIError(400, 50035, "Invalid Form Body", errors)


def missing_permissions() -> DiscordAPIError:
    return DiscordAPIError(403, 50013, "Missing Permissions")


def missing_access() -> DiscordAPIError:
    return DiscordAPIError(403, 50001, "Missing Access")


def cannot_dm() -> DiscordAPIError:
    return DiscordAPIError(403, 50007, "Cannot send messages to this user")


class StandInAssertionError(AssertionError):
    """A helper's expectation failed (timeout, no answer, bad input)."""


class CommandUnavailable(StandInAssertionError):
    """The simulated user could not invoke this command in Discord's client: unknown
    command, not allowed in this context (DM vs guild), or hidden by
    ``default_member_permissions``."""


class InvalidInteraction(StandInAssertionError):
    """Discord's client would not let a user do this (unknown option, missing required
    option, value outside the choices, clicking a disabled button, ...)."""
