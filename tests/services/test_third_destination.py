"""A destination Warden does not ship, added by this test alone: a moderation archive
that takes reports as JSON over HTTP. Nothing in ``bot/`` or ``cogs/`` knows about it;
it is one ``DestinationFactory`` handed to ``open_app``, and a report reaches it end to
end: planned in the draft, written to the outbox on Confirm, sent by the outbox worker,
and shown to the reporter, the moderators' review post and ``/warden setup``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from bot.domain import NewReport, Provider
from bot.services.delivery.destinations import BUILT_IN
from bot.services.delivery.outbox import NOT_SENT, Attempt, Outcome, Retry, Sent
from bot.services.delivery.registry import (
    DestinationContext,
    DestinationSpec,
    PlannedDelivery,
)
from bot.services.status import CheckItem, CheckState
from tests.report_rig import report_world
from tests.standins.discord import DiscordStandIn
from tests.standins.loopback import LoopbackServer

KEY, NAME = "archive", "Moderation archive"


class ArchiveStandin(LoopbackServer):
    """The archive's HTTP API: ``POST /entries`` answers ``{"entry": "A-<n>"}``."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/entries", self._add)
        return app

    async def _add(self, request: web.Request) -> web.Response:
        self.entries.append(await request.json())
        return web.json_response({"entry": f"A-{len(self.entries)}"})


class ArchiveSender:
    destination = KEY

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url

    async def deliver(self, attempt: Attempt) -> Outcome:
        report = attempt.report
        async with httpx.AsyncClient(base_url=self._base_url) as http:
            try:
                answer = await http.post("/entries", json={
                    "number": report.number, "reason": report.reason,
                    "player": report.target_key, "description": report.description,
                })
            except httpx.ConnectError as exc:
                return Retry(f"{NOT_SENT}the archive is down: {exc}")
        return Sent(answer.json()["entry"])


def archive_factory(archive: ArchiveStandin) -> Any:
    def archive_destination(ctx: DestinationContext) -> DestinationSpec:
        async def plan(report: NewReport) -> PlannedDelivery:
            if report.reporter_player_uuid is None:
                return PlannedDelivery(KEY, NAME, False, "link your game account first",
                                       Provider.GAME)
            return PlannedDelivery(KEY, NAME, True)

        async def probe() -> list[CheckItem]:
            return [CheckItem(CheckState.OK, NAME, "reachable")]

        async def setup_item() -> CheckItem:
            return CheckItem(CheckState.OK, NAME, "every report is archived.")

        return DestinationSpec(key=KEY, name=NAME, configured=True, plan=plan,
                               sender=ArchiveSender(archive.base_url), probe=probe,
                               setup_item=setup_item, links=(Provider.GAME,))

    return archive_destination


async def test_a_destination_registered_by_a_test_receives_a_report_end_to_end(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with ArchiveStandin() as archive, report_world(
        tmp_path, discord_standin, destinations=(*BUILT_IN, archive_factory(archive)),
    ) as w:
        await w.link_everyone()
        await w.set_guild(review_channel_id=discord_standin.guild.review_channel.id)

        draft = await w.report(w.alice, player=str(w.bob_game.uuid), description="wallhack")
        assert f"**Goes to:** Game backend, {NAME}" in draft.text
        handle = await w.confirm(w.alice, draft)
        told = await w.told(handle)
        report_id = w.report_id(draft)

        # The archive got the report once, from the outbox, beside the game backend.
        [entry] = archive.entries
        assert entry["number"] == 1 and entry["description"] == "wallhack"
        rows = {r.destination: r for r in await w.wait_delivered(report_id)}
        assert rows[KEY].status == "sent" and rows[KEY].upstream_id == "A-1"
        assert rows["sanctions"].status == "sent"
        assert f"**{NAME}:** delivered (reference `A-1`)" in told.text

        # Moderators see it on the review post under its own name.
        review = discord_standin.guild.review_channel.id
        await discord_standin.wait_for_message(
            lambda m: m.channel_id == review and f"**{NAME}**: sent" in m.text, 10,
            description="the review post showing the archive's delivery")

        # /warden setup lists it with the built-in destinations.
        reply = await (await w.discord.slash(w.discord.guild.owner, "warden",
                                             subcommand="setup")).wait_final()
        assert f"{NAME}" in reply.text and "every report is archived" in reply.text
