"""Which destinations a report can go to, decided from the stored report alone.

The same report row always gives the same plan, so the draft's summary and the
acceptance that writes the delivery rows cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import Destination, NewReport, Provider
from bot.settings import Settings

DESTINATION_LABELS: dict[Destination, str] = {
    Destination.BUNGIE: "Bungie.net",
    Destination.SANCTIONS: "Game moderators",
}


@dataclass(frozen=True)
class PlannedDelivery:
    destination: Destination
    included: bool
    why_not: str | None = None
    """For the member: what would make it possible."""
    missing_link: Provider | None = None

    @property
    def label(self) -> str:
        return DESTINATION_LABELS[self.destination]


def plan_deliveries(report: NewReport, settings: Settings) -> tuple[PlannedDelivery, ...]:
    """One entry per configured destination, included or with the reason it is not."""
    plan: list[PlannedDelivery] = []
    if settings.bungie_enabled:
        plan.append(_bungie(report))
    if settings.sanctions_enabled:
        plan.append(_sanctions(report))
    return tuple(plan)


def _bungie(report: NewReport) -> PlannedDelivery:
    dest = Destination.BUNGIE
    if report.reporter_destiny_membership_id is None:
        return PlannedDelivery(dest, False, "link your Bungie.net account with `/link bungie`",
                               Provider.BUNGIE)
    if report.activity_id is None:
        return PlannedDelivery(dest, False, "Bungie.net only takes reports about one activity: "
                                            "give the activity to report there too")
    if report.target_character_id is None:
        return PlannedDelivery(dest, False, "I don't know this player's Bungie.net account")
    return PlannedDelivery(dest, True)


def _sanctions(report: NewReport) -> PlannedDelivery:
    dest = Destination.SANCTIONS
    if report.reporter_player_uuid is None:
        return PlannedDelivery(dest, False, "link your game account with `/link game`",
                               Provider.GAME)
    if report.target_player_uuid is None:
        return PlannedDelivery(dest, False, "I don't know this player's game account: report "
                                            "them by game player id to send it there")
    return PlannedDelivery(dest, True)
