"""1. Interaction acknowledgement latency of ``/report``.

From the Discord stand-in writing INTERACTION_CREATE to the bot's first callback
(Warden defers first), at 1, 50 and 200 members pressing enter at once, in
several waves per level. Each Warden wave uses members who have not reported yet,
with a real report (a player in a checked activity), and the next wave starts once
every draft of the wave was shown.

The floor is a bare discord.py bot (``bench.bare_bot``) with Warden's intents and a
``/report`` of the same shape that only defers. Both bots run at the same time, each
in its own process and connected to its own instance of the Discord stand-in (in
this process), and their waves alternate (floor first in even waves, Warden first
in odd ones), so load from anything else on the machine falls on both alike.

Target: Warden's p99 at most 1.2x the floor's p99 at every level.

    python -m bench.ack_latency                # the RESULTS figures
    python -m bench.ack_latency --quick        # a smaller run
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as a file: make the repository importable
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path

from bench.common import (
    TARGET_MISSED,
    Workdir,
    header,
    percentile,
    table,
    verdict,
    workdir_argument,
)
from bench.procs import run_child
from bench.world import TOKEN, Job, open_world
from tests.standins.discord import DiscordStandIn, Member, start_discord_standin

TARGET = 1.2


async def wave(discord: DiscordStandIn, members: Sequence[Member], jobs: Sequence[Job],
               *, wait_drafts: bool) -> list[float]:
    """``members[i]`` runs ``jobs[i]``'s ``/report``, all at once; their ack latencies."""
    handles = await asyncio.gather(*(
        discord.slash(member, "report", options=job.options, wait_response=False)
        for member, job in zip(members, jobs, strict=True)))
    await asyncio.gather(*(h.response(timeout=30) for h in handles))
    if wait_drafts:  # so that one wave's work does not spill into the next
        await asyncio.gather(*(h.wait_final(timeout=60) for h in handles))
    await discord.wait_idle(quiet=0.05, timeout=60)
    found = [h.ack_latency for h in handles]
    return [lat for lat in found if lat is not None]


async def main_async(args: argparse.Namespace, workdir: Path) -> bool:
    levels = list(zip(args.levels, args.waves, strict=True))
    largest = max(args.levels)
    reports = largest + sum(level * waves for level, waves in levels)
    header("1. /report acknowledgement latency")
    print(f"levels (reporters at once x waves): {', '.join(f'{lv} x {w}' for lv, w in levels)}",
          flush=True)
    results: dict[tuple[str, int], list[float]] = {}
    async with AsyncExitStack() as stack:
        world = await stack.enter_async_context(open_world(workdir, members=reports + 20))
        bare_discord = await stack.enter_async_context(
            start_discord_standin(extra_members=largest, default_timeout=60.0))
        bare_members = [m for m in bare_discord.guild.members.values()
                        if m.user.username.startswith("member")]
        bare_env = {"DISCORD_TOKEN": TOKEN, "DISCORD_API_BASE_URL": bare_discord.api_base_url,
                    "DISCORD_GATEWAY_URL": bare_discord.gateway_url}
        await stack.enter_async_context(run_child(
            "bare", bare_env, workdir=workdir, sync=True, gc_log=args.verbose))
        await stack.enter_async_context(run_child(
            "warden", world.warden_env(), workdir=workdir, sync=True, gc_log=args.verbose))
        jobs = iter(world.jobs(reports))

        async def both(level: int, index: int) -> tuple[list[float], list[float]]:
            warden_jobs = [next(jobs) for _ in range(level)]
            order = ["bare", "warden"] if index % 2 == 0 else ["warden", "bare"]
            found: dict[str, list[float]] = {}
            for mode in order:
                if mode == "bare":
                    found[mode] = await wave(bare_discord, bare_members[:level], warden_jobs,
                                             wait_drafts=False)
                else:
                    found[mode] = await wave(world.discord,
                                             [j.reporter.member for j in warden_jobs],
                                             warden_jobs, wait_drafts=True)
                await asyncio.sleep(0.05)
            return found["bare"], found["warden"]

        await both(largest, 0)  # warm-up: connections opened, caches filled; not counted
        for level, waves in levels:
            for index in range(waves):
                floor, warden = await both(level, index)
                results.setdefault(("bare", level), []).extend(floor)
                results.setdefault(("warden", level), []).extend(warden)
                if args.verbose:
                    print(f"  {level:4} at once: floor p50 {percentile(floor, 50) * 1e3:6.1f} "
                          f"max {max(floor) * 1e3:6.1f} | Warden p50 "
                          f"{percentile(warden, 50) * 1e3:6.1f} max {max(warden) * 1e3:6.1f} ms",
                          flush=True)
        # Let the last drafts' follow-ups finish before the bots are stopped.
        await world.discord.wait_idle(quiet=0.3, timeout=60)
    rows = [["reporters at once", "samples", "floor p50 / p99 / max (ms)",
             "Warden p50 / p99 / max (ms)", "p99 ratio", f"target <= {TARGET}x"]]
    ok = True
    for level, _ in levels:
        floor, warden = results[("bare", level)], results[("warden", level)]
        fp, wp = percentile(floor, 99), percentile(warden, 99)
        met = wp <= TARGET * fp
        ok &= met
        rows.append([
            str(level), f"{len(floor)} + {len(warden)}",
            " / ".join(f"{v * 1000:.1f}" for v in (percentile(floor, 50), fp, max(floor))),
            " / ".join(f"{v * 1000:.1f}" for v in (percentile(warden, 50), wp, max(warden))),
            f"{wp / fp:.2f}x", verdict(met),
        ])
    print(table(rows), flush=True)
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ack_latency", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")],
                        default=[1, 50, 200], help="reporters at once (default 1,50,200)")
    parser.add_argument("--waves", type=lambda s: [int(x) for x in s.split(",")],
                        default=[200, 30, 20], help="waves per level (default 200,30,20)")
    parser.add_argument("--quick", action="store_true", help="levels 1,20 x 5,3 waves")
    parser.add_argument("--verbose", action="store_true",
                        help="print every wave, and log the bots' long garbage collections")
    workdir_argument(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.levels, args.waves = [1, 20], [5, 3]
    with Workdir(args.workdir, "warden-bench-ack-") as workdir:
        ok = asyncio.run(main_async(args, workdir))
    return 0 if ok else TARGET_MISSED


if __name__ == "__main__":
    raise SystemExit(main())
