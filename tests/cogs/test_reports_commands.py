"""``/reports list|show|stats|export`` through the Discord stand-in."""

from __future__ import annotations

import csv
import io
import json
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.domain import Evidence
from bot.services.review.dates import iso_time
from bot.services.review.ports import Actor
from tests.review_rig import ReviewWorld, review_world
from tests.standins.discord import CommandUnavailable, DiscordStandIn, RecordedMessage

pytestmark = pytest.mark.usefixtures("isolated_env")


def day(text: str, hour: int = 12) -> float:
    return datetime.fromisoformat(text).replace(hour=hour, tzinfo=UTC).timestamp()


def lines_of(message: RecordedMessage) -> list[str]:
    return [line for line in (message.embeds[0].get("description") or "").splitlines() if line]


async def latest_when(
    discord: DiscordStandIn, message: RecordedMessage, text: str
) -> RecordedMessage:
    def check() -> RecordedMessage | None:
        latest = discord.message(message.id)
        return latest if text in latest.text else None

    found: RecordedMessage = await discord.wait_until(check, description=repr(text))
    return found


async def test_list_paginates_and_filters(tmp_path: Path, discord_standin: DiscordStandIn) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await w.setup(channel=w.discord.guild.channel("staff-only"))
        for i in range(11):
            await w.accept_report(at=day("2025-01-10") + i, announce=False)
        other = await w.accept_report(
            reporter=w.carol, reason="afk", at=day("2025-02-02"), announce=False,
            target_key="discord:1", target_bungie_name="Zed#0001", target_discord_id=777,
            target_bungie_membership_id=None, target_player_uuid=None, target_game_name=None,
        )
        await w.lifecycle.dismiss(w.guild_id, other.case_id or 0, await _actor(w),
                                  reason="afk is fine")

        first = await (await w.discord.slash(w.mod, "reports", subcommand="list")).wait_final()
        assert first.ephemeral and "Reports (12)" in first.text
        rows = lines_of(first)
        assert len(rows) == 10 and rows[0].startswith("**#12** · AFK · Dismissed · Zed#0001")
        assert f"<@{w.carol.id}>" in rows[0]
        assert "Page 1 of 2" in first.text
        next_id = next(c for c in first.custom_ids if "next" in str(first.component(c)).lower())
        turned = await w.discord.click(w.mod, first, next_id)
        await turned.response()
        second = await latest_when(w.discord, first, "Page 2 of 2")
        assert [r.split(" · ")[0] for r in lines_of(second)] == ["**#2**", "**#1**"]

        async def listed(**options: object) -> list[str]:
            reply = await (await w.discord.slash(
                w.mod, "reports", dict(options), subcommand="list")).wait_final()
            return [r.split(" · ")[0] for r in lines_of(reply)]

        assert await listed(status="dismissed") == ["**#12**"]
        assert await listed(reason="afk") == ["**#12**"]
        assert await listed(player="zed#0001") == ["**#12**"]  # any case
        assert await listed(player="<@777>") == ["**#12**"]
        assert await listed(reporter=w.carol) == ["**#12**"]
        assert len(await listed(player="Bob#1234")) == 10
        assert await listed(since="2025-02-01") == ["**#12**"]
        assert await listed(until="2025-01-10", status="open") == [
            f"**#{n}**" for n in range(11, 1, -1)
        ]
        bad = await (await w.discord.slash(
            w.mod, "reports", {"since": "last tuesday"}, subcommand="list")).wait_final()
        assert "use YYYY-MM-DD" in bad.text


async def _actor(w: ReviewWorld) -> Actor:
    return Actor(w.mod.id, frozenset({w.discord.guild.moderator_role.id}))


async def test_only_moderators_can_use_reports(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        with pytest.raises(CommandUnavailable):  # no Manage Messages: Discord hides it
            await w.discord.slash(w.alice, "reports", subcommand="list")
        # Manage Messages, but no moderator role configured yet: Warden refuses.
        refused = await (await w.discord.slash(w.mod, "reports", subcommand="list")).wait_final()
        assert refused.ephemeral and "Only this server's moderators" in refused.text
        # The owner has Manage Server.
        owner = await (await w.discord.slash(w.owner, "reports", subcommand="list")).wait_final()
        assert "Reports (0)" in owner.text


async def test_show_has_working_buttons(tmp_path: Path, discord_standin: DiscordStandIn) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await w.setup(channel=w.discord.guild.channel("staff-only"))
        report = await w.accept_report()
        shown = await (await w.discord.slash(
            w.mod, "reports", {"number": 1}, subcommand="show")).wait_final()
        assert shown.ephemeral and "Report #1 · Cheating" in shown.text
        assert f"<@{w.alice.id}>" in shown.text  # staff see the reporter
        assert f"warden:review:claim:{report.id}" in shown.custom_ids

        await (await w.discord.click(w.mod, shown, f"warden:review:claim:{report.id}")).response()
        edited = await latest_when(w.discord, shown, "Claimed by")
        assert f"warden:review:unclaim:{report.id}" in edited.custom_ids
        post = await w.review_post(report)
        assert "Claimed by" in w.discord.message(post.id).text

        missing = await (await w.discord.slash(
            w.mod, "reports", {"number": 99}, subcommand="show")).wait_final()
        assert "There is no report #99" in missing.text


async def test_stats(tmp_path: Path, discord_standin: DiscordStandIn) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await w.setup()
        made = [
            await w.accept_report(reason=reason, announce=False,
                                  deliveries=(("sanctions", "held"),))
            for reason in ("cheating", "cheating", "afk")
        ]
        await w.accept_report(reason="teaming", at=day("2020-01-01"), announce=False)
        moderator = Actor(w.mod.id, manages_server=True)
        await w.lifecycle.claim(w.guild_id, made[0].id, moderator)
        await w.lifecycle.unclaim(w.guild_id, made[0].id, moderator)
        reply = await (await w.discord.slash(w.mod, "reports", subcommand="stats")).wait_final(
            lambda m: bool(m.attachments))
        fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
        assert "3 report(s)" in reply.text  # the 2020 report is outside the last 30 days
        assert fields["By reason"].splitlines() == ["Cheating: 2", "AFK: 1"]
        assert fields["By status"] == "Open: 3"
        assert fields["Game backend deliveries"] == "waiting for a moderator's approval: 3"
        assert fields["From report to first moderator action"].startswith("median ")
        assert "(1 of 3 report(s) acted on)" in fields["From report to first moderator action"]
        assert fields["Actions per moderator"] == f"<@{w.mod.id}>: 2"
        [chart] = reply.attachments
        assert reply.embeds[0]["image"]["url"] == f"attachment://{chart.filename}"
        width, height = png_size(chart.data)
        assert (width, height) == (800, 400)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a well-formed PNG (signature, chunk CRCs, IHDR first, IEND
    last, image data that inflates); fails on anything else."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, image = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc
        chunks.append(kind)
        if kind == b"IDAT":
            image += body
        pos += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND" and zlib.decompress(image)
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_export_matches_the_database_row_by_row(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await w.setup(channel=w.discord.guild.channel("staff-only"))
        await w.accept_report(at=day("2024-12-01"), announce=False)  # before the range
        first = await w.accept_report(
            at=day("2025-01-10"), announce=False,
            description='=HYPERLINK("http://evil.example","click")',
            evidence=(Evidence(kind="attachment", url="https://cdn.example/a.png",
                               filename="a.png", size=3),),
        )
        second = await w.accept_report(at=day("2025-01-31", 23), reason="afk", announce=False,
                                       deliveries=(("sanctions", "pending"),))
        await w.store.deliveries.start_attempt(second.id, "sanctions")
        await w.store.deliveries.finish(second.id, "sanctions", status="sent", upstream_id="rh-9")
        other_guild = w.discord.add_guild("Elsewhere")
        await w.accept_report(at=day("2025-01-15"), guild_id=other_guild.id, announce=False)

        handle = await w.discord.slash(
            w.mod, "reports", {"since": "2025-01-01", "until": "2025-01-31"}, subcommand="export"
        )
        reply = await handle.wait_final(lambda m: bool(m.attachments))
        assert reply.ephemeral
        assert "2 report(s), 3 deliveries" in reply.text
        files = {a.filename.split("-to-2025-01-31-")[1]: a.data for a in reply.attachments}
        assert sorted(files) == sorted(
            f"{t}.{x}" for t in ("reports", "deliveries", "audit") for x in ("csv", "jsonl")
        )

        def csv_rows(name: str) -> list[dict[str, Any]]:
            return list(csv.DictReader(io.StringIO(files[name].decode("utf-8"))))

        def jsonl_rows(name: str) -> list[dict[str, Any]]:
            return [json.loads(line) for line in files[name].decode("utf-8").splitlines()]

        # Reports: exactly the two in range, in this server, oldest first.
        expected = [await w.report(first.id), await w.report(second.id)]
        for rows in (csv_rows("reports.csv"), jsonl_rows("reports.jsonl")):
            assert [str(r["report_id"]) for r in rows] == [str(r.id) for r in expected]
            for row, report in zip(rows, expected, strict=True):
                assert str(row["number"]) == str(report.number)
                assert row["status"] == report.status and row["reason"] == report.reason
                assert str(row["reporter_id"]) == str(report.reporter_id)
                assert row["target_bungie_name"] == report.target_bungie_name
                assert str(row["target_bungie_membership_id"]) == str(
                    report.target_bungie_membership_id)
                assert row["created_at"] == iso_time(report.created_at)
        csv_first, json_first = csv_rows("reports.csv")[0], jsonl_rows("reports.jsonl")[0]
        # A spreadsheet must not run a member's text as a formula; JSON keeps it verbatim.
        assert csv_first["description"] == "'" + str(first.description)
        assert json_first["description"] == first.description
        assert json_first["evidence"] == "https://cdn.example/a.png"

        deliveries = [d for r in expected for d in await w.store.deliveries.for_report(r.id)]
        for rows in (csv_rows("deliveries.csv"), jsonl_rows("deliveries.jsonl")):
            assert [(str(r["report_id"]), r["destination"], r["status"]) for r in rows] == [
                (str(d.report_id), d.destination, d.status) for d in deliveries
            ]
        sent = [r for r in jsonl_rows("deliveries.jsonl") if r["status"] == "sent"]
        assert sent[0]["upstream_id"] == "rh-9" and sent[0]["attempts"] == 1

        since, until = day("2025-01-01", 0), day("2025-02-01", 0)
        audit = [e async for e in w.store.audit.iterate()
                 if e.guild_id == w.guild_id and since <= e.at < until]
        assert {e.action for e in audit} == {"report.accepted"}
        for rows in (csv_rows("audit.csv"), jsonl_rows("audit.jsonl")):
            assert [(str(r["id"]), r["action"], r["hash"], r["prev_hash"]) for r in rows] == [
                (str(e.id), e.action, e.hash, e.prev_hash) for e in audit
            ]
            assert [json.loads(str(r["details"])) for r in rows] == [e.details for e in audit]

        # The export itself is on the record.
        [exported] = [e async for e in w.store.audit.iterate() if e.action == "reports.exported"]
        assert exported.actor_id == w.mod.id and exported.details["reports"] == 2
