"""Finding people in a post-game carnage report, and the Bungie.net hand-off link.

Bungie only accepts a report when both players are in the PGCR, and the report
names the offender's CHARACTER, so these helpers are how Warden checks a report
before sending it (or before handing the member a link to file it themselves).
"""

from __future__ import annotations

import re

from bot.apis.bungie.models import Pgcr, PgcrEntry

DEFAULT_HANDOFF_TEMPLATE = (
    "https://www.bungie.net/en/PGCR/Report/{activity_id}/?characterId={character_id}"
)
_BUNGIE_NAME = re.compile(r"^(?P<name>.+?)\s*#\s*(?P<code>\d{1,4})$")


def parse_bungie_name(text: str) -> tuple[str, int]:
    """``"Name#1234"`` -> ``("Name", 1234)``; ``ValueError`` says what is wrong."""
    cleaned = " ".join(text.split()) if isinstance(text, str) else ""
    if not cleaned:
        raise ValueError("a Bungie name is needed, like Guardian#1234")
    if "#" not in cleaned:
        raise ValueError(
            f"{cleaned!r} has no #code: a Bungie name looks like Guardian#1234 "
            "(the number is shown under the name in game and on Bungie.net)"
        )
    match = _BUNGIE_NAME.match(cleaned)
    if match is None or "#" in match["name"]:
        raise ValueError(
            f"{cleaned!r} is not a Bungie name: expected a name, '#', and a 1-4 digit code, "
            "like Guardian#1234"
        )
    return match["name"].strip(), int(match["code"])


def find_entry(
    pgcr: Pgcr,
    membership_id: int | None = None,
    bungie_name: str | None = None,
    code: int | None = None,
) -> PgcrEntry | None:
    """The first entry for a Destiny membership id, or for a Bungie name (and code).

    A name without a code matches only when exactly one player has that name, since
    two players in one activity can share a name. Names compare case-insensitively.
    """
    if membership_id is not None:
        return next((e for e in pgcr.entries if e.membership_id == membership_id), None)
    if not bungie_name:
        return None
    wanted = bungie_name.casefold()
    matches = [
        e for e in pgcr.entries
        if (e.player.destiny_user_info.bungie_global_display_name or "").casefold() == wanted
        and (code is None or e.player.destiny_user_info.bungie_global_display_name_code == code)
    ]
    owners = {e.membership_id for e in matches}
    return matches[0] if len(owners) == 1 else None


def has_player(pgcr: Pgcr, membership_id: int) -> bool:
    return find_entry(pgcr, membership_id=membership_id) is not None


def character_id_of(pgcr: Pgcr, membership_id: int) -> int | None:
    entry = find_entry(pgcr, membership_id=membership_id)
    return None if entry is None else entry.character_id


def handoff_url(template: str, activity_id: int, character_id: int) -> str:
    """The Bungie.net page where a member files the report themselves."""
    try:
        return template.format(activity_id=int(activity_id), character_id=int(character_id))
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            "BUNGIE_HANDOFF_URL_TEMPLATE may only use {activity_id} and {character_id} "
            f"({exc!r})"
        ) from None
