"""2. End-to-end throughput: reports per second from ``/report`` to "the reporter is told".

Many linked members (``--concurrency`` at a time) each run ``/report`` about a player
in an activity both played, press Confirm on the draft, and wait until Warden has
edited the draft into the report's final status (both destinations delivered);
meanwhile Warden stores the report, delivers it to the Bungie and sanctions
stand-ins, and posts it to the review channel. The rate
is reports over the time from the first ``/report`` to the last member told.

Floors, each in its own process, run before and after Warden (their mean is used):

* ``sqlite``: a bare aiosqlite loop doing the same writes in the same transactions;
* ``post``: a bare loop POSTing the same bodies to the same stand-ins, with Warden's
  outbox concurrency, with one shared httpx client and with one client per worker
  (the faster of the two counts).

The ratio printed is Warden's rate to the slower floor. Target: at least 0.5.

    python -m bench.throughput                 # the RESULTS figures: 10,000 reports
    python -m bench.throughput --reports 500   # a quicker run
    python -m bench.throughput --compare --reports 1000   # the cost of PostgreSQL

``--compare`` (no floors) runs the same workload three times in one run, each in a
fresh world: Warden on SQLite, on PostgreSQL (a real server it starts, as the tests do),
and as two processes on PostgreSQL with one of two shards each. It prints Warden's CPU
per report (every Warden process, all threads; the database server's own CPU is not
Warden's) and reports per Warden CPU-second. Targets: PostgreSQL within
1.5x SQLite's CPU per report; two processes at least 0.9 of one's reports per
CPU-second.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as a file: make the repository importable
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import TARGET_MISSED, Workdir, header, table, verdict, workdir_argument
from bench.procs import child_env, process_cpu_seconds, run_child
from bench.world import Job, World, confirm, open_world, report
from bot.apis.bungie import snapshot_table
from bot.apis.bungie.models import PgcrReportBody
from bot.apis.sanctions.models import CreateReport
from bot.domain import Reason
from tests.linking_rig import free_port

TARGET = 0.5
TARGETS = 20
"""Members who are reported (``open_world``'s default); the others report."""


@dataclass
class WardenRun:
    reports: int
    seconds: float
    delivered: int
    peak_rss_mib: float
    cpu_seconds: float
    """Warden's process, all threads, during the run."""
    harness_cpu_seconds: float
    """This process (the stand-ins and the members) during the run."""

    @property
    def rate(self) -> float:
        return self.reports / self.seconds


async def drive(world: World, jobs: Sequence[Job], concurrency: int, *,
                progress: bool = True) -> tuple[float, int]:
    """Every job reported, confirmed and told, ``concurrency`` members at a time.

    Returns the seconds taken and how many members were told both deliveries worked.
    """
    queue = deque(jobs)
    delivered = 0
    done = 0
    step = max(len(jobs) // 10, 1)
    started = time.perf_counter()

    async def member() -> None:
        nonlocal delivered, done
        while queue:
            job = queue.popleft()
            draft = await report(world, job, within=120.0)
            told = await confirm(world, job, draft, within=120.0)
            delivered += ("Bungie.net:** delivered" in told.text
                          and "Game backend:** delivered" in told.text)
            done += 1
            if progress and done % step == 0:
                elapsed = time.perf_counter() - started
                print(f"  {done:6} reports told, {done / elapsed:6.1f}/s", flush=True)

    await asyncio.gather(*(member() for _ in range(min(concurrency, len(jobs)))))
    return time.perf_counter() - started, delivered


async def run_warden(world: World, jobs: Sequence[Job], concurrency: int, *,
                     profile: Path | None = None, processes: int = 1) -> WardenRun:
    """With ``processes`` > 1, that many Warden processes, each with its share of the
    shards (the figures are their sums; the peak RSS is the largest)."""
    bungie_before, sanctions_before = world.bungie.report_count, world.sanctions.report_count
    async with contextlib.AsyncExitStack() as stack:
        children = []
        for n in range(processes):
            env = world.warden_env()
            if processes > 1:
                env |= {"SHARD_COUNT": str(processes), "SHARD_IDS": str(n)}
                if n:
                    env["WEB_PORT"] = str(free_port())
            children.append(await stack.enter_async_context(run_child(
                "warden", env, workdir=world.workdir, sync=n == 0,
                profile=profile if n == 0 else None)))

        def warden_cpu() -> float:
            return sum(child.cpu_seconds() for child in children)

        cpu_before, harness_before = warden_cpu(), process_cpu_seconds(os.getpid())
        seconds, delivered = await drive(world, jobs, concurrency)
        cpu = warden_cpu() - cpu_before
        harness = process_cpu_seconds(os.getpid()) - harness_before
        await world.discord.wait_idle(quiet=0.5, timeout=120)  # review post edits finish
        peak = max(child.peak_rss_mib() for child in children)
    landed = (world.bungie.report_count - bungie_before,
              world.sanctions.report_count - sanctions_before)
    if landed != (len(jobs), len(jobs)) or delivered != len(jobs):
        raise RuntimeError(f"not every report arrived: {landed} of {len(jobs)} at the "
                           f"stand-ins, {delivered} members told both were delivered")
    return WardenRun(len(jobs), seconds, delivered, peak, cpu, harness)


def cpu_note(run: WardenRun) -> str:
    per = 1000 / run.reports
    busy = (run.cpu_seconds + run.harness_cpu_seconds) / run.seconds
    return (f"CPU per report: Warden {run.cpu_seconds * per:.1f} ms, stand-ins and members "
            f"{run.harness_cpu_seconds * per:.1f} ms (the two kept {busy:.2f} of "
            f"{os.cpu_count()} cores busy)")


# ---- floors -------------------------------------------------------------------------

async def run_floor(workdir: Path, *args: str) -> float:
    """Run ``python -m bench.floors ARGS`` and return its reports per second."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.floors", *args, cwd=workdir, env=child_env({}),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"floor {args[0]} failed:\n{err.decode(errors='replace')[-2000:]}")
    result = json.loads(out.decode().strip().splitlines()[-1])
    return float(result["reports"]) / float(result["seconds"])


def post_jobs(world: World, jobs: Sequence[Job], path: Path) -> None:
    """The two report calls Warden makes for each job, as the POST floor sends them."""
    cheating = snapshot_table()[Reason.CHEATING]
    found = []
    for number, job in enumerate(jobs, start=1):
        bungie_body = PgcrReportBody(
            reason_category_hashes=[cheating.category_hash],
            reason_hashes=[cheating.reason_hash],
            offending_character_id=job.target.account.character_id,
        ).to_body()
        sanctions_body = CreateReport(reason=Reason.CHEATING, custom_data={
            "warden_report_id": str(number), "warden_report_number": str(number),
            "discord_guild_id": str(world.discord.guild.id),
            "destiny_activity_id": str(job.activity),
        }).to_body()
        found.append({
            "bungie_url": f"{world.bungie.api_base_url}/Destiny2/Stats/PostGameCarnageReport/"
                          f"{job.activity}/Report/",
            "bungie_token": world.bungie.issue_tokens(job.reporter.account).access_token,
            "bungie_body": bungie_body,
            "sanctions_url": f"{world.sanctions.base_url}/sanctions/v2/player/"
                             f"{job.target.player.uuid}/reports",
            "sanctions_token": world.sanctions.issue_tokens(job.reporter.player).access_token,
            "sanctions_body": sanctions_body,
        })
    path.write_text(json.dumps({"api_key": world.bungie.api_key, "jobs": found}))


FLOOR_REPORTS = 3000
"""Reports per floor run: their rates settle long before that."""


async def floors(world: World, jobs: Sequence[Job], concurrency: int) -> dict[str, float]:
    jobs = jobs[:FLOOR_REPORTS]
    workdir = world.workdir
    jobs_path = workdir / "post-jobs.json"
    post_jobs(world, jobs, jobs_path)
    n = str(len(jobs))
    return {
        "sqlite": await run_floor(workdir, "sqlite", "--db", str(workdir / "floor.db"),
                                  "--reports", n),
        "post-shared": await run_floor(workdir, "post", "--jobs", str(jobs_path),
                                       "--concurrency", str(concurrency), "--client", "shared"),
        "post-per-worker": await run_floor(workdir, "post", "--jobs", str(jobs_path),
                                           "--concurrency", str(concurrency),
                                           "--client", "per-worker"),
    }


CPU_RATIO_TARGET = 1.5
"""PostgreSQL's Warden CPU per report at most this times SQLite's."""
SCALE_TARGET = 0.9
"""Two processes' reports per Warden CPU-second at least this share of one's."""


async def compare(args: argparse.Namespace, workdir: Path) -> bool:
    """The same workload on SQLite, on PostgreSQL, and as two processes on PostgreSQL."""
    from tests.postgres import fresh_database, running_server

    header("2b. The cost of PostgreSQL and of a second process")
    members = args.reports + TARGETS
    print(f"{args.reports} reports by {members} linked members, {args.concurrency} at a "
          "time, in each of three fresh worlds", flush=True)
    runs: dict[str, WardenRun] = {}
    with running_server() as admin_url:
        for key, database, processes in (("sqlite", False, 1), ("postgresql", True, 1),
                                         ("postgresql x2", True, 2)):
            print(f"- {key}", flush=True)
            url = fresh_database(admin_url) if database else None
            options: dict[str, Any] = ({"guild_shard": (0, 2), "shards": 2} if processes > 1
                                       else {})
            async with open_world(workdir / key.replace(" ", "-"), members=members,
                                  database_url=url, **options) as world:
                runs[key] = await run_warden(
                    world, world.jobs(args.reports), args.concurrency, processes=processes,
                    profile=None if args.profile is None
                    else args.profile.with_suffix(f".{key.replace(' ', '-')}.prof"))
                print(f"  {cpu_note(runs[key])}", flush=True)
    rows = [["", "reports/s", "Warden CPU ms/report", "reports per Warden CPU-s",
             "peak RSS MiB"]]
    for key, run in runs.items():
        rows.append([key, f"{run.rate:.1f}", f"{1000 * run.cpu_seconds / run.reports:.2f}",
                     f"{run.reports / run.cpu_seconds:.1f}", f"{run.peak_rss_mib:.1f}"])
    print(table(rows))
    sqlite, pg, pg2 = runs["sqlite"], runs["postgresql"], runs["postgresql x2"]
    cpu_ratio = (pg.cpu_seconds / pg.reports) / (sqlite.cpu_seconds / sqlite.reports)
    scale = (pg2.reports / pg2.cpu_seconds) / (pg.reports / pg.cpu_seconds)
    cpu_ok, scale_ok = cpu_ratio <= CPU_RATIO_TARGET, scale >= SCALE_TARGET
    print(f"Warden CPU per report, PostgreSQL / SQLite: {cpu_ratio:.2f}  "
          f"(target <= {CPU_RATIO_TARGET}: {verdict(cpu_ok)})")
    print(f"reports per Warden CPU-second, two processes / one: {scale:.2f}  "
          f"(target >= {SCALE_TARGET}: {verdict(scale_ok)})", flush=True)
    return cpu_ok and scale_ok


async def main_async(args: argparse.Namespace, workdir: Path) -> bool:
    if args.compare:
        return await compare(args, workdir)
    header("2. End-to-end throughput")
    # One report per reporter: a second one soon after would meet the server's
    # 1-per-30-s limit (the default limits apply) and end the run with a refusal.
    members = max(args.members, args.reports + TARGETS)
    print(f"{args.reports} reports by {members} linked members, {args.concurrency} at a time; "
          "floors before and after", flush=True)
    async with open_world(workdir, members=members) as world:
        jobs = world.jobs(args.reports)
        outbox = world.settings.outbox_concurrency
        if args.no_floors:
            warden = await run_warden(world, jobs, args.concurrency, profile=args.profile)
            print(f"Warden: {warden.rate:.1f} reports/s ({warden.seconds:.1f} s); peak RSS "
                  f"{warden.peak_rss_mib:.1f} MiB")
            print(cpu_note(warden))
            return True
        before = await floors(world, jobs, outbox)
        warden = await run_warden(world, jobs, args.concurrency, profile=args.profile)
        after = await floors(world, jobs, outbox)
    mean = {k: statistics.mean((before[k], after[k])) for k in before}
    post = max(mean["post-shared"], mean["post-per-worker"])
    slower = min(mean["sqlite"], post)
    ratio = warden.rate / slower
    ok = ratio >= TARGET
    rows = [["", "reports/s", "before / after", "Warden / this"]]
    rows.append(["Warden, end to end", f"{warden.rate:.1f}", f"{warden.seconds:.1f} s", ""])
    for key, label in (("sqlite", "floor: bare aiosqlite, same transactions"),
                       ("post-shared", f"floor: bare POSTs, shared client, {outbox} workers"),
                       ("post-per-worker", f"floor: bare POSTs, client per worker, {outbox} "
                                           "workers")):
        rows.append([label, f"{mean[key]:.1f}", f"{before[key]:.1f} / {after[key]:.1f}",
                     f"{warden.rate / mean[key]:.2f}"])
    print(table(rows))
    print(f"Warden / slower floor ({slower:.1f}/s): {ratio:.2f}  (target >= {TARGET}: "
          f"{verdict(ok)})")
    print(cpu_note(warden))
    print(f"Warden peak RSS: {warden.peak_rss_mib:.1f} MiB", flush=True)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=10_000,
                        help="linked members in the server (default 10,000)")
    parser.add_argument("--concurrency", type=int, default=64,
                        help="members reporting at the same time (default 64)")
    parser.add_argument("--no-floors", action="store_true",
                        help="measure Warden only (for profiling)")
    parser.add_argument("--compare", action="store_true",
                        help="SQLite, PostgreSQL and two processes on PostgreSQL: CPU per "
                             "report (no floors)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="write a cProfile of the Warden process to this file")
    workdir_argument(parser)
    args = parser.parse_args(argv)
    with Workdir(args.workdir, "warden-bench-throughput-") as workdir:
        ok = asyncio.run(main_async(args, workdir))
    return 0 if ok else TARGET_MISSED


if __name__ == "__main__":
    raise SystemExit(main())
