"""Durability under faults: many members file reports while the API stand-ins fail a share
of requests and Warden, running as its own process, is SIGKILLed and restarted over the
same database. Then the outbox drains and the invariants are checked (``chaos.tally``).

    python -m chaos.run                                   # 5,000 reports, 3 kills, 20 %
    python -m chaos.run --reports 300 --kills 1 --seed 7  # the CI size
    python -m chaos.run --database postgresql --processes 2  # two processes, one database

Everything is bounded: each member's tries and waits, the filing phase
(``--time-limit``), the drain (``--drain-timeout``) and every stop. Exit status 0
when every invariant holds, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.crypto import generate_key
from bot.store import Database, Store
from bot.store.reports import ReportFilter
from chaos.faults import FaultMix
from chaos.members import Filing, Liveness, Member, acknowledged_drafts, told_reporters
from chaos.population import Job, people, plan, seed_database
from chaos.tally import RolledBack, Tally, count, table
from tests.linking_rig import free_port
from tests.postgres import fresh_database, running_server
from tests.report_rig import world_settings
from tests.standins.bungie import BungieStandin
from tests.standins.discord import DiscordStandIn, start_discord_standin
from tests.standins.launch import WardenProcess
from tests.standins.sanctions import SanctionsStandin

TIMINGS: dict[str, Any] = {
    # Retries are fast but real: the waits upstreams ask for (429, Retry-After) are honoured.
    "api_retry_attempts": 3,
    "api_retry_base_delay": 0.05,
    "api_retry_budget_seconds": 6.0,
    "outbox_concurrency": 32,
    "outbox_max_attempts": 12,
    "outbox_retry_base_seconds": 0.2,
    "outbox_retry_max_seconds": 3.0,
    "outbox_shutdown_grace_seconds": 1.0,
    "http_read_timeout": 1.0,
}


@dataclass(frozen=True)
class ChaosConfig:
    reports: int = 5000
    kills: int = 3
    fault_rate: float = 0.2
    seed: int = 1
    concurrency: int = 48
    """Members acting at the same moment."""
    reporters: int | None = None
    """Distinct reporting members (default: one per 20 reports, 10..250)."""
    targets: int | None = None
    """Distinct reported players (default: one per 100 reports, 5..60)."""
    time_limit: float = 14 * 60.0
    """Seconds for the whole run; the filing phase stops early enough to drain."""
    drain_timeout: float = 120.0
    handoff_share: float = 0.05
    """Share of reporters whose Bungie.net sign-in was revoked upstream: their Bungie
    copies are handed to them to file (a DM with the link) instead of filed directly."""
    database: str = "sqlite"
    """``sqlite`` (a file) or ``postgresql`` (a real server this run starts and stops,
    tests/postgres.py)."""
    processes: int = 1
    """Warden processes on the one database (2 needs PostgreSQL): each runs its share of
    the shards (``SHARD_COUNT=2``, ``SHARD_IDS=0`` and ``1``; the server is on shard 0, so
    members talk to the first) and each kill hits one of them, in turn."""
    restore: bool = False
    """Back up the live database a third of the way through the filing, and two thirds
    of the way stop Warden, restore that backup (``python -m bot restore``) and start
    it again: the reports accepted in between are taken back."""

    def command(self) -> str:
        args = ["python", "-m", "chaos.run", "--reports", str(self.reports), "--kills",
                str(self.kills), "--fault-rate", str(self.fault_rate), "--seed", str(self.seed)]
        defaults = ChaosConfig()
        for name in ("concurrency", "reporters", "targets", "time_limit", "drain_timeout",
                     "handoff_share"):
            value = getattr(self, name)
            if value != getattr(defaults, name):
                args += [f"--{name.replace('_', '-')}", str(value)]
        if self.restore:
            args.append("--restore")
        if self.database != "sqlite":
            args += ["--database", self.database]
        if self.processes != 1:
            args += ["--processes", str(self.processes)]
        return shlex.join(args)


@dataclass
class ChaosResult:
    config: ChaosConfig
    tally: Tally
    text: str
    problems: list[str]
    seconds: float
    kills: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def figures(self) -> dict[str, Any]:
        t = self.tally
        return {
            "command": self.config.command(),
            "config": asdict(self.config),
            "seconds": round(self.seconds, 1),
            "filings": dict(t.filing_counts),
            "accepted": t.accepted,
            "acknowledged": t.acknowledged,
            "deliveries": {f"{d}:{s}": n for (d, s), n in sorted(t.by_status.items())},
            "failed_reasons": {f"{d}: {r}": n for (d, r), n in t.failed_reasons.items()},
            "duplicates": {"sanctions": t.duplicates_sanctions, "bungie": t.duplicates_bungie},
            "rolled_back": t.rolled_back,
            "told": {str(times): n for times, n in sorted(t.told.items())},
            "retold_after_restore": t.retold_after_restore,
            "lost": len(t.lost),
            "phantoms": len(t.phantoms),
            "audit_ok": t.audit_ok,
            "kills": self.kills,
            "problems": self.problems,
        }


def _sizes(config: ChaosConfig) -> tuple[int, int]:
    reporters = config.reporters or min(max(config.reports // 20, 10), 250)
    targets = config.targets or min(max(config.reports // 100, 5), 60)
    return reporters, targets


async def run_chaos(config: ChaosConfig, workdir: Path,
                    say: Callable[[str], None] = print) -> ChaosResult:
    started = time.monotonic()
    deadline = started + config.time_limit
    rng = random.Random(config.seed)
    async with AsyncExitStack() as stack:
        sharded: dict[str, Any] = {}
        if config.processes > 1:
            sharded = {"guild_shard": (0, config.processes), "shards": config.processes}
        discord = await stack.enter_async_context(
            start_discord_standin(default_timeout=15.0, **sharded))
        bungie = await stack.enter_async_context(BungieStandin(record=False))
        sanctions = await stack.enter_async_context(SanctionsStandin(record=False))
        n_reporters, n_targets = _sizes(config)
        reporters = people(discord, bungie, sanctions, "Reporter", n_reporters)
        targets = people(discord, bungie, sanctions, "Target", n_targets)
        jobs = plan(reporters, targets, config.reports, bungie, rng)
        database: dict[str, Any] = {}
        if config.database == "postgresql":
            admin_url = stack.enter_context(running_server())
            database["database_url"] = fresh_database(admin_url)
        key = generate_key()
        settings_of = [
            world_settings(workdir, discord, bungie, sanctions, free_port(), key, **TIMINGS,
                           **database, **_shards(config.processes, n))
            for n in range(config.processes)
        ]
        settings = settings_of[0]
        await seed_database(settings, discord, bungie, sanctions, reporters + targets)
        for person in reporters[: round(len(reporters) * config.handoff_share)]:
            bungie.revoke(person.account)
        bots = [
            await stack.enter_async_context(WardenProcess.for_settings(
                one, workdir=workdir if config.processes == 1 else workdir / f"process-{n}",
                discord=discord))
            for n, one in enumerate(settings_of)
        ]
        bot = bots[0]  # the server's shard: members talk to this one
        await bot.sync_commands(discord.guild.id)
        faults = FaultMix(config.fault_rate, random.Random(rng.random()),
                          read_timeout=settings.http_read_timeout)
        faults.install(bungie, sanctions)
        for each in bots:
            await each.start()
        say(f"chaos: {config.reports} reports from {n_reporters} members about {n_targets} "
            f"players, {config.kills} kill(s), {config.fault_rate:.0%} of API requests failing "
            f"(Warden pid(s) {', '.join(str(b.pid) for b in bots)}, "
            f"log(s) {', '.join(str(b.log_path) for b in bots)})")

        life = Liveness()
        life.started()
        filings = await _file_everything(config, jobs, discord, bots, life, rng, deadline,
                                         say)
        say(f"chaos: members done at {time.monotonic() - started:.0f}s; draining the outbox")
        for each in bots:
            if not each.running:
                await each.start()
        drained = await _drain(settings.database_location(), config.drain_timeout, say)
        say(f"chaos: drained at {time.monotonic() - started:.0f}s")
        stopping = time.monotonic()
        codes = [await each.terminate() for each in bots]
        code = next((c for c in codes if c != 0), 0)
        graceful = all(each.launches[-1].ended_by == "SIGTERM" for each in bots)
        stop = (f"exit {code} after {time.monotonic() - stopping:.1f}s"
                f"{'' if graceful else ', needed SIGKILL'}")
        audit = await bot.cli("audit", "verify")

        rolled_back = None
        if config.restore:
            rolled_back = await _before_restore(settings.database_path, discord.guild.id)
        db = await Database.open(settings.database_location(), migrate=False)
        try:
            tally = await count(Store(db), discord.guild.id, filings.filings,
                                acknowledged_drafts(discord),
                                {j.activity_id: j for j in jobs}, bungie, sanctions,
                                told=told_reporters(discord), rolled_back=rolled_back,
                                restored_at=filings.restored_at)
        finally:
            await db.close()
        tally.audit_ok = audit.code == 0
        tally.audit_text = audit.stdout + audit.stderr
        problems = tally.check()
        if not drained:
            problems.append(f"the outbox did not drain within {config.drain_timeout:.0f}s")
        if filings.timed_out:
            problems.append(f"the members did not finish within the time limit "
                            f"({config.time_limit:.0f}s)")
        kills_done = [k for k in filings.kills if not k.startswith(("backup", "restore"))]
        if len(kills_done) < config.kills:
            problems.append(f"only {len(kills_done)} of {config.kills} kill(s) happened")
        if config.restore and not any(k.startswith("restore") for k in filings.kills):
            problems.append("the restore did not happen")
        if code != 0 or not graceful:
            problems.append(f"the graceful stop (SIGTERM) failed: {stop}")
        unexpected = sum(len(each.unexpected_exits) for each in bots)
        if unexpected:
            problems.append(f"Warden exited by itself {unexpected} time(s)")
        errors = [line for each in bots for line in each.log_errors()]
        if errors:
            problems.append(f"{len(errors)} ERROR line(s) in Warden's log, first: {errors[0]}")
        text = table(tally, injected=faults.injected, kills=filings.kills,
                     unexpected_exits=unexpected, log_errors=errors, stop=stop)
        return ChaosResult(config, tally, text, problems, time.monotonic() - started,
                           filings.kills)
    raise AssertionError("unreachable")  # pragma: no cover - the stack does not swallow


@dataclass
class _Filings:
    filings: list[Filing]
    kills: list[str]
    timed_out: bool
    restored_at: float | None = None
    """``time.perf_counter()`` when the backup was put in place (with ``--restore``)."""


def _shards(processes: int, n: int) -> dict[str, Any]:
    if processes == 1:
        return {}
    return {"shard_count": processes, "shard_ids": str(n)}


async def _file_everything(config: ChaosConfig, jobs: list[Job], discord: DiscordStandIn,
                           bots: list[WardenProcess], life: Liveness, rng: random.Random,
                           deadline: float, say: Callable[[str], None]) -> _Filings:
    member = Member(discord, life, random.Random(rng.random()))
    gate = asyncio.Semaphore(config.concurrency)
    filings: dict[int, Filing] = {j.number: Filing(j) for j in jobs}
    done = 0
    by_reporter: dict[int, list[Job]] = {}
    for job in jobs:
        by_reporter.setdefault(job.reporter.discord_id, []).append(job)

    tick = asyncio.Event()

    async def reporter(own: list[Job]) -> None:
        nonlocal done
        for job in own:
            async with gate:
                filings[job.number] = await member.file(job)
            done += 1
            tick.set()

    kills: list[str] = []
    marks: dict[str, float] = {}
    started = time.monotonic()
    monkey = asyncio.create_task(_monkey(config, bots, life, lambda: done, tick, rng, kills,
                                         started, marks))
    tasks = [asyncio.create_task(reporter(own)) for own in by_reporter.values()]
    progress = asyncio.create_task(_progress(lambda: done, len(jobs), say))
    # Leave time to drain and check after the members stop.
    budget = max(deadline - time.monotonic() - config.drain_timeout - 30.0, 10.0)
    _, pending = await asyncio.wait(tasks, timeout=budget)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    progress.cancel()
    try:
        await asyncio.wait_for(monkey, timeout=30.0)
    except TimeoutError:
        pass  # wait_for cancelled it; a restart it interrupted is redone by the caller
    return _Filings(list(filings.values()), kills, timed_out=bool(pending),
                    restored_at=marks.get("restored"))


async def _monkey(config: ChaosConfig, bots: list[WardenProcess], life: Liveness,
                  done: Callable[[], int], tick: asyncio.Event, rng: random.Random,
                  kills: list[str], started: float, marks: dict[str, float]) -> None:
    """SIGKILL Warden ``config.kills`` times at random points of the filing, each followed
    by a restart over the same database; with ``config.restore``, also a backup and,
    later, a stop, restore and start. With several processes each kill hits one, in turn
    (the first kill the members' one); the others keep running."""
    bot = bots[0]
    struck = 0
    events = [(rng.uniform(0.1, 0.9) * config.reports, "kill") for _ in range(config.kills)]
    if config.restore:
        events += [(config.reports / 3, "backup"), (2 * config.reports / 3, "restore")]
    backup = bot.workdir / "chaos-backup.db"
    for point, what in sorted(events):
        while done() < point:
            tick.clear()
            await tick.wait()
        await asyncio.sleep(rng.uniform(0.0, 1.0))  # anywhere in the work, not at a boundary
        at = f"t={time.monotonic() - started:.1f}s, after {done()} filings"
        if what == "backup":
            result = await bot.cli("backup", str(backup), "--force")
            kills.append(f"backup at {at}: exit {result.code}")
            continue
        if what == "restore":
            code = await bot.terminate()  # the operator stops Warden first
            life.killed()
            result = await bot.cli("restore", str(backup))
            marks["restored"] = time.perf_counter()
            kills.append(f"restore at {at}: stop exit {code}, restore exit {result.code} "
                         f"{(result.stdout + result.stderr).strip().splitlines()[-1:]}")
        else:
            bot = bots[struck % len(bots)]
            struck += 1
            await bot.kill()
            if bot is bots[0]:
                life.killed()
            kills.append(f"{at}" if len(bots) == 1 else f"{at}, process {bots.index(bot)}")
        await asyncio.sleep(rng.uniform(0.1, 1.0))
        await bot.start()
        life.started()


async def _progress(done: Callable[[], int], total: int, say: Callable[[str], None]) -> None:
    started = time.monotonic()
    while True:
        await asyncio.sleep(30.0)
        elapsed = time.monotonic() - started
        say(f"chaos: {done()}/{total} filings done after {elapsed:.0f}s")


async def _drain(path: Path | str, timeout: float,  # noqa: ASYNC109
                 say: Callable[[str], None]) -> bool:
    """Wait until no delivery is pending or in flight (the running Warden sends them)."""
    db = await Database.open(path, migrate=False)
    try:
        store = Store(db)
        deadline = time.monotonic() + timeout
        while True:
            left = await store.deliveries.backlog()
            if left == 0:
                return True
            if time.monotonic() > deadline:
                say(f"chaos: {left} deliveries still pending after {timeout:.0f}s")
                return False
            await asyncio.sleep(0.25)
    finally:
        await db.close()


async def _before_restore(live: Path, guild_id: int) -> RolledBack | None:
    """The reports of the database that ``restore`` kept aside: whatever of them the
    restored one lacks, the restore took back."""
    aside = sorted(p for p in live.parent.glob(f"{live.name}.before-restore-*")
                   if not p.name.endswith(("-wal", "-shm")))
    if not aside:
        return None
    db = await Database.open(aside[-1], migrate=False)
    try:
        reports = await Store(db).reports.matching(ReportFilter(guild_id=guild_id))
    finally:
        await db.close()
    return RolledBack(frozenset(r.activity_id for r in reports if r.activity_id is not None),
                      frozenset(r.uuid for r in reports if r.uuid is not None))


def machine() -> str:
    cores = os.cpu_count() or 0
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages * size / 2**30:.0f} GiB"
    except (ValueError, OSError):
        memory = ""
    return f"{cores} cores{memory}, Python {sys.version.split()[0]}"


def parse_args(argv: Sequence[str] | None) -> tuple[ChaosConfig, argparse.Namespace]:
    parser = argparse.ArgumentParser(prog="python -m chaos.run", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    d = ChaosConfig()
    parser.add_argument("--reports", type=int, default=d.reports)
    parser.add_argument("--kills", type=int, default=d.kills)
    parser.add_argument("--fault-rate", type=float, default=d.fault_rate)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--concurrency", type=int, default=d.concurrency)
    parser.add_argument("--reporters", type=int, default=None)
    parser.add_argument("--targets", type=int, default=None)
    parser.add_argument("--time-limit", type=float, default=d.time_limit,
                        help="seconds for the whole run (default %(default)s)")
    parser.add_argument("--drain-timeout", type=float, default=d.drain_timeout)
    parser.add_argument("--handoff-share", type=float, default=d.handoff_share,
                        help="share of reporters whose Bungie.net sign-in is revoked")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the database and Warden's log here (default: a temp dir)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default=d.database,
                        help="where Warden stores (postgresql: a real server started here)")
    parser.add_argument("--processes", type=int, choices=[1, 2], default=d.processes,
                        help="Warden processes sharing the database (2: --database "
                             "postgresql)")
    parser.add_argument("--restore", action="store_true",
                        help="back up a third of the way in, restore it two thirds in")
    args = parser.parse_args(argv)
    if args.reports < 1 or args.kills < 0 or not 0 <= args.fault_rate < 1:
        parser.error("--reports must be >= 1, --kills >= 0, --fault-rate in [0, 1)")
    if args.processes > 1 and args.database != "postgresql":
        parser.error("--processes 2 shares one database: add --database postgresql")
    if args.restore and args.database != "sqlite":
        parser.error("--restore is SQLite's backup and restore (PostgreSQL: pg_dump)")
    config = ChaosConfig(
        reports=args.reports, kills=args.kills, fault_rate=args.fault_rate, seed=args.seed,
        concurrency=args.concurrency, reporters=args.reporters, targets=args.targets,
        time_limit=args.time_limit, drain_timeout=args.drain_timeout,
        handoff_share=args.handoff_share, restore=args.restore, database=args.database,
        processes=args.processes,
    )
    return config, args


def main(argv: Sequence[str] | None = None) -> int:
    config, args = parse_args(argv)

    def say(text: str) -> None:
        print(text, flush=True)

    with tempfile.TemporaryDirectory(prefix="warden-chaos-") as tmp:
        workdir = args.workdir or Path(tmp)
        result = asyncio.run(run_chaos(config, workdir, say))
    say("")
    say(f"$ {config.command()}")
    say(f"{time.strftime('%Y-%m-%d')}, {machine()}, {result.seconds:.0f} s")
    say(result.text)
    if args.json is not None:
        args.json.write_text(json.dumps(result.figures(), indent=2) + "\n", encoding="utf-8")
    if result.problems:
        say("\nINVARIANTS BROKEN:")
        for problem in result.problems:
            say(f"- {problem}")
        return 1
    say("\nall invariants hold")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
