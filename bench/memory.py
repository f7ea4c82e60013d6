"""4. Memory: Warden's peak resident size after 10,000 reports, with 10,000 linked members.

The server has 10,000 members, every one linked on both sides; Warden runs the
throughput benchmark's 10,000 reports (``/report``, Confirm, delivery to both
stand-ins, the member told, the review post kept up to date), and its peak RSS
(the kernel's high-water mark, ``VmHWM``) is read before it stops. The floor, in
the same stand-in in the same run: a bare discord.py client (``bench.bare_bot``,
same intents and member cache settings as Warden) holding the same guild.

Target: at most 2x the bare client.

    python -m bench.memory                               # the RESULTS figures
    python -m bench.memory --reports 1000 --members 1000 # quicker
    python -m bench.memory --idle                        # at rest: started, no report yet
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as a file: make the repository importable
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
from pathlib import Path

from bench.common import TARGET_MISSED, Workdir, header, table, verdict, workdir_argument
from bench.procs import run_child
from bench.throughput import run_warden
from bench.world import open_world

TARGET = 2.0


async def idle(args: argparse.Namespace, workdir: Path) -> bool:
    """Warden's resident size once started and settled, before any report (no target:
    for comparing one change's cost at rest)."""
    header("4. Memory at rest")
    async with open_world(workdir, members=args.members) as world:
        async with run_child("warden", world.warden_env(), workdir=world.workdir,
                             sync=True) as warden:
            await world.discord.wait_idle(quiet=0.5, timeout=120)
            await asyncio.sleep(1.0)
            rss, peak = warden.rss_mib(), warden.peak_rss_mib()
    print(table([
        ["process", "RSS (MiB)", "peak RSS (MiB)"],
        [f"Warden at rest in a {args.members}-member guild", f"{rss:.1f}", f"{peak:.1f}"],
    ]), flush=True)
    return True


async def main_async(args: argparse.Namespace, workdir: Path) -> bool:
    if args.idle:
        return await idle(args, workdir)
    header("4. Memory")
    print(f"{args.reports} reports by {args.members} linked members, {args.concurrency} at a "
          "time", flush=True)
    async with open_world(workdir, members=args.members) as world:
        jobs = world.jobs(args.reports)
        warden = await run_warden(world, jobs, args.concurrency)
        async with run_child("bare", world.bare_env(), workdir=workdir) as bare:
            await asyncio.sleep(1.0)  # settled after GUILD_CREATE
            bare_peak = bare.peak_rss_mib()
    ratio = warden.peak_rss_mib / bare_peak
    ok = ratio <= TARGET
    print(table([
        ["process", "peak RSS (MiB)", "ratio", f"target <= {TARGET}x"],
        [f"Warden after {args.reports} reports ({warden.rate:.0f}/s)",
         f"{warden.peak_rss_mib:.1f}", f"{ratio:.2f}x", verdict(ok)],
        [f"floor: bare discord.py client in the same {args.members}-member guild",
         f"{bare_peak:.1f}", "1.00x", ""],
    ]), flush=True)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--idle", action="store_true",
                        help="only Warden's size at rest, started and before any report")
    workdir_argument(parser)
    args = parser.parse_args(argv)
    with Workdir(args.workdir, "warden-bench-memory-") as workdir:
        ok = asyncio.run(main_async(args, workdir))
    return 0 if ok else TARGET_MISSED


if __name__ == "__main__":
    raise SystemExit(main())
