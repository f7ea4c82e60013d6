"""How a Discord account is named to someone who must recognise it."""

from __future__ import annotations

import unicodedata

import discord


def account_handle(user: discord.abc.User) -> str:
    """``@username`` (unique, so nobody can copy it), with the display name when it differs.

    Shown on the linking confirmation page: a member who opened someone else's link
    must see that it is not their account. Invisible and direction-changing characters
    are dropped from the display name, so it cannot reorder or hide the text around it.
    """
    handle = f"@{user.name}" if user.discriminator in ("0", "0000") else f"@{user}"
    shown = "".join(c for c in user.display_name if not unicodedata.category(c).startswith("C"))
    shown = shown.strip()
    return handle if not shown or shown in (user.name, str(user)) else f"{handle} ({shown})"
