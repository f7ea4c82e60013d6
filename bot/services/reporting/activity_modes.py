"""Names of Destiny activity modes (``DestinyActivityModeType``), for activity pickers.

Copied from the enum in Bungie's OpenAPI document, as messages in Warden's catalogs. The
manifest's ``DestinyActivityModeDefinition`` has them per language, but keyed by a hash
that activity histories and PGCRs never give (they give the enum number), and the entity
endpoint needs the hash: reading them from Bungie would mean downloading the whole
manifest database per language. A mode Bungie adds later is shown by number until it is
added here.
"""

from __future__ import annotations

from bot.i18n import t

MODE_NAMES: dict[int, str] = {
    2: t("Story"),
    3: t("Strike"),
    4: t("Raid"),
    5: t("All PvP"),
    6: t("Patrol"),
    7: t("All PvE"),
    10: t("Control"),
    12: t("Clash"),
    15: t("Crimson Doubles"),
    16: t("Nightfall"),
    17: t("Heroic Nightfall"),
    18: t("All Strikes"),
    19: t("Iron Banner"),
    25: t("All Mayhem"),
    31: t("Supremacy"),
    32: t("Private Matches All"),
    37: t("Survival"),
    38: t("Countdown"),
    39: t("Trials of the Nine"),
    40: t("Social"),
    41: t("Trials Countdown"),
    42: t("Trials Survival"),
    43: t("Iron Banner Control"),
    44: t("Iron Banner Clash"),
    45: t("Iron Banner Supremacy"),
    46: t("Scored Nightfall"),
    47: t("Scored Heroic Nightfall"),
    48: t("Rumble"),
    49: t("All Doubles"),
    50: t("Doubles"),
    51: t("Private Matches Clash"),
    52: t("Private Matches Control"),
    53: t("Private Matches Supremacy"),
    54: t("Private Matches Countdown"),
    55: t("Private Matches Survival"),
    56: t("Private Matches Mayhem"),
    57: t("Private Matches Rumble"),
    58: t("Heroic Adventure"),
    59: t("Showdown"),
    60: t("Lockdown"),
    61: t("Scorched"),
    62: t("Scorched Team"),
    63: t("Gambit"),
    64: t("All PvE Competitive"),
    65: t("Breakthrough"),
    66: t("Black Armory Run"),
    67: t("Salvage"),
    68: t("Iron Banner Salvage"),
    69: t("PvP Competitive"),
    70: t("PvP Quickplay"),
    71: t("Clash Quickplay"),
    72: t("Clash Competitive"),
    73: t("Control Quickplay"),
    74: t("Control Competitive"),
    75: t("Gambit Prime"),
    76: t("Reckoning"),
    77: t("Menagerie"),
    78: t("Vex Offensive"),
    79: t("Nightmare Hunt"),
    80: t("Elimination"),
    81: t("Momentum"),
    82: t("Dungeon"),
    83: t("Sundial"),
    84: t("Trials of Osiris"),
    85: t("Dares"),
    86: t("Offensive"),
    87: t("Lost Sector"),
    88: t("Rift"),
    89: t("Zone Control"),
    90: t("Iron Banner Rift"),
    91: t("Iron Banner Zone Control"),
    92: t("Relic"),
}


def mode_name(mode: int) -> str:
    return MODE_NAMES.get(mode) or t("Mode {mode}", mode=mode)
