"""Bungie.net: the client, its models, the report-reason mapping and PGCR helpers."""

from bot.apis.bungie.client import BungieClient
from bot.apis.bungie.models import (
    ActivityHistoryEntry,
    BungieTokens,
    Character,
    DestinyMembership,
    Pgcr,
    PgcrEntry,
    UserMemberships,
)
from bot.apis.bungie.pgcr import (
    DEFAULT_HANDOFF_TEMPLATE,
    character_id_of,
    find_entry,
    handoff_url,
    has_player,
    parse_bungie_name,
)
from bot.apis.bungie.reasons import (
    ReasonMapError,
    ReasonTable,
    ResolvedReason,
    load_reason_table,
    parse_reason_map,
    snapshot_table,
)

__all__ = [
    "DEFAULT_HANDOFF_TEMPLATE",
    "ActivityHistoryEntry",
    "BungieClient",
    "BungieTokens",
    "Character",
    "DestinyMembership",
    "Pgcr",
    "PgcrEntry",
    "ReasonMapError",
    "ReasonTable",
    "ResolvedReason",
    "UserMemberships",
    "character_id_of",
    "find_entry",
    "handoff_url",
    "has_player",
    "load_reason_table",
    "parse_bungie_name",
    "parse_reason_map",
    "snapshot_table",
]
