"""How a Discord account is named to someone who must recognise it."""

from __future__ import annotations

import discord


def account_handle(user: discord.abc.User) -> str:
    """``@username`` (unique, so nobody can copy it), with the display name when it differs.

    Shown on the linking confirmation page: a member who opened someone else's link
    must see that it is not their account.
    """
    handle = f"@{user.name}" if user.discriminator in ("0", "0000") else f"@{user}"
    shown = user.display_name
    return handle if shown in (user.name, str(user)) else f"{handle} ({shown})"
