"""``python -m bot run`` as a real process, stopped with SIGTERM in the middle of
deliveries and started again over the same database.

The launcher here is deliberately small (start the process against the stand-ins, poll
``/healthz``, signal it, read its JSON log lines); a shared harness may replace it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import httpx

from bot.crypto import TokenBox, generate_key
from bot.domain import NewReport, Provider, ReviewMode
from bot.errors import Restarting
from bot.store import Database, Store
from bot.store.links import NewLink, SealedTokens
from tests.linking_rig import free_port
from tests.report_rig import NO_LIMITS
from tests.standins.discord import DiscordStandIn
from tests.standins.sanctions import REPORTS_ROUTE, Player, SanctionsStandin

ROOT = Path(__file__).resolve().parents[1]
GRACE = 1.5
SEEDED = 6
CONCURRENCY = 4


class BotProcess:
    """One ``python -m bot run`` with its stderr (JSON lines) in a file."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path, port: int) -> None:
        self.env, self.cwd, self.log, self.port = env, cwd, log, port
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("wb") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=self.env, cwd=self.cwd,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=err,
            )

    def events(self) -> list[dict[str, Any]]:
        lines = self.log.read_text("utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    async def healthz(self) -> httpx.Response:
        async with httpx.AsyncClient(timeout=5) as http:
            return await http.get(f"http://127.0.0.1:{self.port}/healthz")

    async def wait_healthy(self, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise AssertionError(f"the bot exited early:\n{self.log.read_text()[-3000:]}")
            try:
                if (await self.healthz()).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
        raise AssertionError(f"not healthy in {timeout}s:\n{self.log.read_text()[-3000:]}")

    def signal(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def wait(self, timeout: float) -> int:  # noqa: ASYNC109
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@asynccontextmanager
async def bot_process(env: dict[str, str], cwd: Path, log: Path,
                      port: int) -> AsyncIterator[BotProcess]:
    bot = BotProcess(env, cwd, log, port)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.kill()


async def until(check: Any, what: str, timeout: float = 10.0) -> Any:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def statuses(db_path: Path) -> dict[int, str]:
    with closing(sqlite3.connect(db_path)) as conn:
        rows = conn.execute("SELECT report_id, status FROM deliveries").fetchall()
    return {int(r[0]): str(r[1]) for r in rows}


async def seed(db_path: Path, discord: DiscordStandIn, players: dict[str, Player]) -> list[int]:
    """What an earlier run left behind: members' game links and accepted reports whose
    deliveries are still pending."""
    db = await Database.open(db_path)
    store = Store(db)
    guild = discord.guild
    await store.guilds.update(
        guild.id, actor_id=None, review_mode=ReviewMode.AUTO,
        short_count=NO_LIMITS.short_count, hour_count=NO_LIMITS.hour_count,
        day_count=NO_LIMITS.day_count, target_cooldown_hours=NO_LIMITS.target_cooldown_hours)
    box = TokenBox([generate_key()])  # never opened: without linking, the service token files
    for member, player in ((guild.reporter, players["alice"]), (guild.target, players["bob"])):
        await store.links.upsert(NewLink(
            discord_user_id=member.user.id, provider=Provider.GAME,
            account_id=str(player.uuid), display_name=player.display_name,
            tokens=SealedTokens(box.seal("unused"), None, None, None), platform="steam"))
    ids = []
    for i in range(SEEDED):
        draft = await store.reports.create_draft(NewReport(
            guild_id=guild.id, channel_id=None, reporter_id=guild.reporter.user.id,
            reason="cheating", target_key=f"game:{players['bob'].uuid}",
            description=f"seeded report {i}", target_player_uuid=str(players["bob"].uuid),
            reporter_player_uuid=str(players["alice"].uuid)))
        await store.reports.accept(draft.id, limits=NO_LIMITS, actor_id=guild.reporter.user.id,
                                   deliveries=[("sanctions", "pending")])
        ids.append(draft.id)
    await db.close()
    return ids


async def sync_commands(env: dict[str, str], cwd: Path, guild_id: int) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sync", "--guild", str(guild_id), env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()


async def test_sigterm_mid_delivery_parks_it_and_the_next_start_delivers_it_once(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    discord = discord_standin
    alice, bob = discord.guild.reporter, discord.guild.target
    db_path = tmp_path / "warden.db"
    port = free_port()
    async with SanctionsStandin() as rh:
        players = {"alice": rh.add_player("AliceInGame"), "bob": rh.add_player("BobInGame")}
        seeded = await seed(db_path, discord, players)
        env = {
            "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONPATH": str(ROOT),
            "DISCORD_TOKEN": "standin-token-abcdefghijklmnopqrstuvwxyz",
            "DISCORD_API_BASE_URL": discord.api_base_url,
            "DISCORD_GATEWAY_URL": discord.gateway_url,
            "DATABASE_PATH": str(db_path), "LOG_FORMAT": "json",
            "WEB_HOST": "127.0.0.1", "WEB_PORT": str(port),
            "SANCTIONS_API_BASE_URL": rh.base_url, "SANCTIONS_CLIENT_ID": rh.client_id,
            "SANCTIONS_CLIENT_SECRET": rh.client_secret,
            "OUTBOX_CONCURRENCY": str(CONCURRENCY),
            "OUTBOX_SHUTDOWN_GRACE_SECONDS": str(GRACE),
            "OUTBOX_RETRY_BASE_SECONDS": "0.05", "OUTBOX_RETRY_MAX_SECONDS": "0.2",
            "HTTP_READ_TIMEOUT": "30",
        }
        # The game backend hangs: two reports land but their answers never come (the
        # ambiguous case), two never land. SIGTERM arrives while all four are in flight.
        rh.inject("slow", count=2, path=REPORTS_ROUTE, method="POST", delay=60, landed=True)
        rh.inject("slow", count=2, path=REPORTS_ROUTE, method="POST", delay=60)

        syncing = asyncio.create_task(sync_commands(env, tmp_path, discord.guild.id))
        async with bot_process(env, tmp_path, tmp_path / "run1.log", port) as bot:
            await bot.wait_healthy()
            await syncing

            async def four_in_flight() -> bool:
                return rh.count("POST", REPORTS_ROUTE) == CONCURRENCY
            await until(four_in_flight, "four deliveries to reach the game backend")
            assert sorted(statuses(db_path).values()) == ["in_flight"] * 4 + ["pending"] * 2

            bot.signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            # While it drains: a member's command gets a clear answer, not a timeout.
            refused = await (await discord.slash(
                alice, "report", options={"reason": "cheating", "player": "x"})).wait_final()
            assert refused.ephemeral and refused.text == Restarting.MESSAGE
            # ... and monitoring sees it is no longer serving.
            draining = await bot.healthz()
            assert draining.status_code == 503 and draining.json()["ready"] is False

            assert await bot.wait(timeout=GRACE + 8) == 0
            took = time.monotonic() - stopped_at
            assert took < GRACE + 4, f"shutdown took {took:.1f}s"

        # A clean close: SQLite folded its WAL into the file on the last close (a killed
        # process leaves it behind), and the file is intact.
        assert not db_path.with_name("warden.db-wal").exists()
        with closing(sqlite3.connect(db_path)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # Nothing lost, nothing given up on: cut-short attempts are in_flight (to be
        # reconciled), the two never started are pending.
        assert sorted(statuses(db_path)) == seeded
        assert sorted(statuses(db_path).values()) == ["in_flight"] * 4 + ["pending"] * 2
        first = bot.events()
        assert any("SIGTERM: shutting down" in e["message"] for e in first)
        assert any("4 attempt(s) cut short" in e["message"] for e in first)

        # The next start: every report reaches the game backend exactly once.
        async with bot_process(env, tmp_path, tmp_path / "run2.log", port) as bot:
            await bot.wait_healthy()

            async def all_sent() -> bool:
                return set(statuses(db_path).values()) == {"sent"}
            await until(all_sent, "every parked delivery to be sent")
            for report_id in seeded:
                assert len(rh.reports_with_warden_id(str(report_id))) == 1, report_id

            # One JSON log line end to end: a member's report, accepted, names the report
            # and the interaction that confirmed it.
            draft = await (await discord.slash(
                alice, "report", options={"reason": "cheating", "player": f"<@{bob.user.id}>"},
            )).wait_final()
            [confirm_id] = [c for c in draft.custom_ids if c.startswith("warden:report:confirm")]
            report_id = int(confirm_id.rsplit(":", 1)[1])
            confirm = await discord.click(alice, draft, confirm_id)
            await confirm.wait_final(lambda m: "delivery" in m.text or "delivered" in m.text)

            async def delivered_line() -> dict[str, Any] | None:
                return next((e for e in bot.events() if e.get("report_id") == report_id
                             and e.get("outcome") == "sent"), None)
            delivered = await until(delivered_line, "the delivery's log line")
            bot.signal(signal.SIGTERM)
            assert await bot.wait(timeout=GRACE + 8) == 0

        [accepted] = [e for e in bot.events() if "accepted" in e["message"]]
        assert accepted["report_id"] == report_id
        assert accepted["interaction_id"] == confirm.id
        assert accepted["level"] == "INFO"
        assert accepted["logger"] == "bot.services.reporting.service"
        assert delivered["destination"] == "sanctions" and delivered["attempt"] == 1

        db = await Database.open(db_path)
        try:
            assert (await Store(db).audit.verify()).ok
        finally:
            await db.close()
