"""3. Rate-limit and duplicate checks with 1,000,000 reports stored.

A database with Warden's schema gets a year of accepted reports (default one million)
from many members in 20 servers, plus two heavy cases: one member with 10,000
reports (2,000 of them in the last day) and one member who reported the same player
2,000 times. Then Warden's own check (``ReportStore.check_limits``: the reporter's
quotas, then the same-activity or cooldown duplicate rule) runs for random members
through Warden's reader connection, and its time is printed beside two floors
measured on the same connection and file: one primary-key lookup through aiosqlite
(one round trip to the database thread, which every check needs at least once),
and the same queries run directly with sqlite3 (SQLite's own work). The query
plans show which index answers each query.

Target: under 1 ms per check.

    python -m bench.limit_checks                    # the RESULTS figures
    python -m bench.limit_checks --reports 100000   # quicker
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as a file: make the repository importable
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import random
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    TARGET_MISSED,
    Workdir,
    header,
    percentile,
    table,
    verdict,
    workdir_argument,
)
from bot.domain import ReportLimits
from bot.store import Database, Store
from bot.store.reports import DAY, RECENT_BY_REPORTER_SQL, SAME_ACTIVITY_SQL, TARGET_COOLDOWN_SQL

TARGET_MS = 1.0
GUILDS = [1_000_000_000_000_000_000 + i for i in range(20)]
HEAVY_REPORTER = 9_000_000_000_000_000_001
HEAVY_PAIR_REPORTER = 9_000_000_000_000_000_002
HEAVY_TARGET = "bungie:4611686018499999999"
LIMITS = ReportLimits()  # Warden's defaults: 1 per 30 s, 5 an hour, 20 a day, 24 h cooldown


@dataclass(frozen=True)
class Population:
    reporters: int
    targets: int

    def reporter(self, index: int) -> tuple[int, int]:
        """(guild, reporter id) of reporter ``index``."""
        return GUILDS[index % len(GUILDS)], 5_000_000_000_000_000_000 + index

    def target(self, index: int) -> str:
        return f"bungie:{4611686018400000000 + index}"


def _rows(count: int, pop: Population, now: float, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    numbers = dict.fromkeys(GUILDS, 0)

    def row(guild: int, reporter: int, target: str, activity: int | None,
            at: float) -> tuple[Any, ...]:
        numbers[guild] += 1
        return (guild, numbers[guild], reporter, "cheating", target, activity, "accepted",
                at, at, at)

    heavy = 10_000
    pair = 2_000
    for i in range(heavy):  # one member who reports a lot: a fifth of it in the last day
        at = now - (rng.uniform(0, DAY) if i % 5 == 0 else rng.uniform(DAY, 365 * DAY))
        yield row(GUILDS[0], HEAVY_REPORTER, pop.target(rng.randrange(pop.targets)),
                  14_000_000_000 + i, at)
    for i in range(pair):  # one member who keeps reporting the same player
        yield row(GUILDS[0], HEAVY_PAIR_REPORTER, HEAVY_TARGET, 15_000_000_000 + i,
                  now - rng.uniform(0, 365 * DAY))
    for i in range(max(count - heavy - pair, 0)):
        guild, reporter = pop.reporter(rng.randrange(pop.reporters))
        activity = 16_000_000_000 + i if i % 2 == 0 else None
        yield row(guild, reporter, pop.target(rng.randrange(pop.targets)), activity,
                  now - rng.uniform(0, 365 * DAY))


async def build(path: Path, count: int, pop: Population, now: float) -> float:
    for old in path.parent.glob(path.name + "*"):
        old.unlink()
    db = await Database.open(path)  # Warden's schema and pragmas
    await db.close()
    started = time.perf_counter()
    with sqlite3.connect(path) as conn:
        # Set-up only (Warden's own pragmas apply when it opens the file): one big batch.
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        conn.executemany(
            "INSERT INTO reports (guild_id, number, reporter_id, reason, target_key,"
            " activity_id, status, created_at, accepted_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            _rows(count, pop, now, random.Random(7)))
    return time.perf_counter() - started


async def timed(calls: int, make: Callable[[int], Awaitable[Any]]) -> list[float]:
    found: list[float] = []
    for index in range(calls):
        started = time.perf_counter()
        await make(index)
        found.append(time.perf_counter() - started)
    return found


def raw_times(path: Path, calls: int, args: Callable[[int], list[tuple[str, tuple[Any, ...]]]]
              ) -> list[float]:
    """The same queries through sqlite3 directly: SQLite's own share of a check."""
    found: list[float] = []
    with sqlite3.connect(path) as conn:
        for index in range(calls):
            queries = args(index)
            started = time.perf_counter()
            for sql, params in queries:
                conn.execute(sql, params).fetchall()
            found.append(time.perf_counter() - started)
    return found


async def main_async(args: argparse.Namespace, workdir: Path) -> bool:
    header("3. Rate-limit and duplicate checks")
    pop = Population(reporters=max(args.reports // 10, 100), targets=max(args.reports // 20, 50))
    now = time.time()
    path = workdir / "limits.db"
    took = await build(path, args.reports, pop, now)
    print(f"{args.reports:,} accepted reports in {len(GUILDS)} servers by {pop.reporters:,} "
          f"members about {pop.targets:,} players (written in {took:.0f} s)", flush=True)
    rng = random.Random(11)
    picks = [(pop.reporter(rng.randrange(pop.reporters)), pop.target(rng.randrange(pop.targets)),
              rng.randrange(10**9)) for _ in range(args.checks)]
    db = await Database.open(path)
    try:
        store = Store(db)
        reports = store.reports

        def check(kind: str) -> Callable[[int], Awaitable[Any]]:
            async def one(i: int) -> Any:
                (guild, reporter), target, activity = picks[i]
                if kind == "heavy member":
                    guild, reporter = GUILDS[0], HEAVY_REPORTER
                elif kind == "same player 2,000 times":
                    guild, reporter, target = GUILDS[0], HEAVY_PAIR_REPORTER, HEAVY_TARGET
                with_activity = kind != "member, no activity (cooldown rule)"
                return await reports.check_limits(guild, reporter, target,
                                                  activity if with_activity else None,
                                                  LIMITS, now=now)
            return one

        def queries(kind: str) -> Callable[[int], list[tuple[str, tuple[Any, ...]]]]:
            def made(i: int) -> list[tuple[str, tuple[Any, ...]]]:
                (guild, reporter), target, activity = picks[i]
                if kind == "heavy member":
                    guild, reporter = GUILDS[0], HEAVY_REPORTER
                elif kind == "same player 2,000 times":
                    guild, reporter, target = GUILDS[0], HEAVY_PAIR_REPORTER, HEAVY_TARGET
                recent = (RECENT_BY_REPORTER_SQL, (guild, reporter, now - DAY, 21))
                if kind == "member, no activity (cooldown rule)":
                    return [recent, (TARGET_COOLDOWN_SQL, (guild, reporter, target,
                                                           now - 24 * 3600))]
                return [recent, (SAME_ACTIVITY_SQL, (guild, reporter, target, activity))]
            return made

        kinds = ["member, with activity", "member, no activity (cooldown rule)",
                 "heavy member", "same player 2,000 times"]
        await timed(min(200, args.checks), check(kinds[0]))  # warm the page cache
        results = {kind: await timed(args.checks, check(kind)) for kind in kinds}
        ids = [rng.randrange(1, args.reports) for _ in range(args.checks)]
        floor = await timed(args.checks, lambda i: db.fetch_one(
            "SELECT id FROM reports WHERE id = ?", (ids[i],)))
        raw = {kind: raw_times(path, args.checks, queries(kind)) for kind in kinds}
        plans: list[tuple[str, str]] = []
        with sqlite3.connect(path) as conn:
            for name, sql in (("quota window", RECENT_BY_REPORTER_SQL),
                              ("same activity", SAME_ACTIVITY_SQL),
                              ("target cooldown", TARGET_COOLDOWN_SQL)):
                for row in conn.execute("EXPLAIN QUERY PLAN " + sql, (1, 1, 1, 1)):
                    plans.append((name, str(row[3])))
    finally:
        await db.close()

    rows = [["check", "mean ms", "p50 / p99 / max ms", "mean / floor",
             "sqlite3 alone, mean ms", f"target < {TARGET_MS} ms"]]
    ok = True
    floor_mean = statistics.fmean(floor)

    def spread(times: list[float]) -> str:
        return " / ".join(f"{v * 1000:.3f}" for v in (percentile(times, 50),
                                                     percentile(times, 99), max(times)))

    for kind in kinds:
        times = results[kind]
        mean = statistics.fmean(times)
        met = mean * 1000 < TARGET_MS
        ok &= met
        rows.append([kind, f"{mean * 1000:.3f}", spread(times), f"{mean / floor_mean:.1f}x",
                     f"{statistics.fmean(raw[kind]) * 1000:.3f}", verdict(met)])
    rows.append(["floor: primary-key lookup, aiosqlite", f"{floor_mean * 1000:.3f}",
                 spread(floor), "1.0x", "", ""])
    print(f"{args.checks} checks of each kind through Warden's store (aiosqlite reader):")
    print(table(rows))
    print("EXPLAIN QUERY PLAN (as Warden runs them; no ANALYZE):")
    for name, plan in plans:
        print(f"  {name:16} {plan}")
    ok &= all("USING" in plan and "INDEX" in plan for _, plan in plans)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.limit_checks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--checks", type=int, default=2000, help="checks of each kind")
    workdir_argument(parser)
    args = parser.parse_args(argv)
    with Workdir(args.workdir, "warden-bench-limits-") as workdir:
        ok = asyncio.run(main_async(args, workdir))
    return 0 if ok else TARGET_MISSED


if __name__ == "__main__":
    raise SystemExit(main())
