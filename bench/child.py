"""The process under test: Warden, or a bare discord.py bot, pointed at the stand-ins.

    python -m bench.child warden [--guild-ready-timeout S]
    python -m bench.child bare   [--sync] [--guild-ready-timeout S]

Warden reads its settings from the environment and runs ``bot.runtime.run``, exactly
as ``python -m bot run`` does (logging set up the same way, graceful stop on
SIGTERM), with one difference: ``guild_ready_timeout``. discord.py waits that long
after the last GUILD_CREATE before it is ready, 2 s by default, which would be a
fixed wait inside every start-up figure. Its commands are synced beforehand with
``python -m bot sync`` (``bench.procs``).

The bare bot (``bench.bare_bot``) reads ``DISCORD_TOKEN``, ``DISCORD_API_BASE_URL``
and ``DISCORD_GATEWAY_URL``, and syncs its own tree with ``--sync``.

Both print ``BENCH-READY`` on stdout when discord.py is ready. The mode is chosen
before anything is imported, so the bare bot never loads Warden's packages.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import cProfile
import gc
import logging
import os
import signal
import sys
import time
from pathlib import Path

READY_LINE = "BENCH-READY"


def _say_ready() -> None:
    sys.stdout.write(READY_LINE + "\n")
    sys.stdout.flush()


class _ReadyFromLog(logging.Handler):
    """Warden says it is ready in its log (``bot.app``: "ready as ...")."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("ready as "):
            _say_ready()


def run_warden(guild_ready_timeout: float, sync: bool) -> None:
    from bot import runtime
    from bot.cli import _setup_logs
    from bot.settings import load_settings

    settings = load_settings()
    _setup_logs(settings)
    logging.getLogger("bot.app").addHandler(_ReadyFromLog())
    asyncio.run(runtime.run(settings, guild_ready_timeout=guild_ready_timeout))


async def _run_bare(guild_ready_timeout: float, sync: bool) -> None:
    from bench.bare_bot import BareBot
    from bot.discord_endpoints import point_discord_at

    point_discord_at(os.environ["DISCORD_API_BASE_URL"], os.environ["DISCORD_GATEWAY_URL"])
    client = BareBot(guild_ready_timeout=guild_ready_timeout)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: loop.create_task(client.close()))
    async with client:
        await client.login(os.environ["DISCORD_TOKEN"])
        if sync:
            await client.tree.sync()

        async def announce() -> None:
            await client.wait_until_ready()
            _say_ready()

        task = asyncio.create_task(announce())
        await client.connect()
        task.cancel()


def run_bare(guild_ready_timeout: float, sync: bool) -> None:
    asyncio.run(_run_bare(guild_ready_timeout, sync))


def _log_gc_pauses() -> None:
    """Every garbage collection longer than 5 ms, to stderr (``--gc-log``)."""
    started = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        took = time.perf_counter() - started[0]
        if took > 0.005:
            gen = info["generation"]
            tracked = f" tracked={len(gc.get_objects())}" if gen == 2 else ""
            sys.stderr.write(f"BENCH-GC gen{gen} {took * 1000:.1f} ms "
                             f"collected={info['collected']}{tracked}\n")

    gc.callbacks.append(callback)
    signal.signal(signal.SIGUSR1, lambda *_: _log_objects("on SIGUSR1"))


def _log_objects(when: str) -> None:
    """The most common live objects, to stderr (``--gc-log``: at exit and on SIGUSR1)."""
    gc.collect()
    counts = collections.Counter(type(o).__name__ for o in gc.get_objects())
    sys.stderr.write(f"BENCH-GC objects {when}: {sum(counts.values())}, most common: "
                     f"{counts.most_common(25)}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    parser.add_argument("mode", choices=["warden", "bare"])
    parser.add_argument("--sync", action="store_true",
                        help="bare: sync the command tree first (Warden: python -m bot sync)")
    parser.add_argument("--guild-ready-timeout", type=float, default=0.05)
    parser.add_argument("--gc-log", action="store_true",
                        help="log garbage collections over 5 ms, and the objects left at exit")
    parser.add_argument("--profile", type=Path, default=None,
                        help="write cProfile statistics of the whole run to this file")
    args = parser.parse_args(argv)
    if args.gc_log:
        _log_gc_pauses()
    run = run_warden if args.mode == "warden" else run_bare
    if args.profile is None:
        run(args.guild_ready_timeout, args.sync)
    else:
        cProfile.runctx("run(args.guild_ready_timeout, args.sync)", globals(), locals(),
                        filename=str(args.profile))
    if args.gc_log:
        _log_objects("at exit")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
