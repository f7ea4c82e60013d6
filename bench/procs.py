"""Running the process under test (``bench.child``) and reading its memory.

Peak RSS is the kernel's high-water mark for the process (``VmHWM`` in
``/proc/PID/status``), read while it is still alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.child import READY_LINE
from tests.standins.launch import base_env


@dataclass
class Child:
    mode: str
    process: asyncio.subprocess.Process
    spawned_at: float
    """``time.perf_counter()`` just before the process was created."""
    log_path: Path
    ready_after: float | None = None
    """Seconds from spawn to ``on_ready``."""

    @property
    def pid(self) -> int:
        return self.process.pid

    def peak_rss_mib(self) -> float:
        return _status_kib(self.pid, "VmHWM") / 1024

    def rss_mib(self) -> float:
        return _status_kib(self.pid, "VmRSS") / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far, all threads."""
        return process_cpu_seconds(self.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def process_cpu_seconds(pid: int) -> float:
    # /proc/PID/stat: the command may contain spaces, so count fields after its ")".
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/{pid}/status has no {key}")


def child_env(extra: Mapping[str, str], home: Path | None = None) -> dict[str, str]:
    """A clean environment: nothing of the caller's settings leaks into the child."""
    return base_env(home or Path(tempfile.gettempdir())) | dict(extra)


@asynccontextmanager
async def run_child(
    mode: str,
    env: Mapping[str, str],
    *,
    workdir: Path,
    sync: bool = False,
    guild_ready_timeout: float = 0.05,
    ready_timeout: float = 120.0,
    gc_log: bool = False,
    profile: Path | None = None,
) -> AsyncIterator[Child]:
    """Start ``python -m bench.child MODE``, wait until it is ready, stop it on exit."""
    args = [sys.executable, "-m", "bench.child", mode,
            "--guild-ready-timeout", str(guild_ready_timeout)]
    if sync and mode == "warden":
        await sync_warden(env, workdir)
    elif sync:
        args.append("--sync")
    if gc_log:
        args.append("--gc-log")
    if profile is not None:
        args += ["--profile", str(profile)]
    log_path = workdir / f"{mode}-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        spawned = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            *args, cwd=workdir, env=child_env(env, workdir), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=log,
        )
        child = Child(mode, process, spawned, log_path)
        try:
            await asyncio.wait_for(_ready(child), timeout=ready_timeout)
            yield child
        finally:
            await stop(child)


async def sync_warden(env: Mapping[str, str], workdir: Path) -> None:
    """``python -m bot sync``: the stand-in learns Warden's commands as Discord would."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "sync", cwd=workdir, env=child_env(env, workdir),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"python -m bot sync failed:\n{out.decode()}{err.decode()}")


async def _ready(child: Child) -> None:
    assert child.process.stdout is not None
    while True:
        line = await child.process.stdout.readline()
        if not line:
            code = await child.process.wait()
            raise RuntimeError(f"{child.mode} exited with {code} before it was ready:\n"
                               f"{child.log_tail()}")
        if line.decode().strip() == READY_LINE:
            child.ready_after = time.perf_counter() - child.spawned_at
            return


async def stop(child: Child, grace: float = 15.0) -> int:
    process = child.process
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    return process.returncode if process.returncode is not None else -1
