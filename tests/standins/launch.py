"""The real Warden as a separate process (``python -m bot run``), aimed at in-process
stand-ins: start it, wait until it is ready, SIGKILL or SIGTERM it, start it again over
the same database, and read what it logged.

    settings = world_settings(workdir, discord, bungie, sanctions, port, key)
    async with WardenProcess.for_settings(settings, workdir=workdir, discord=discord) as bot:
        await bot.sync_commands(discord.guild.id)   # so the stand-in knows the schema
        await bot.start()                            # returns once ready
        ...                                          # drive members through ``discord``
        await bot.kill()                             # SIGKILL, like a crash or the OOM killer
        await bot.start()                            # same database, same stand-ins
        code = await bot.terminate()                 # SIGTERM, the graceful stop
        print((await bot.cli("audit", "verify")).stdout)

The process gets a clean environment: only what ``settings`` say (every field, as the
environment variables ``bot.settings`` reads), a Discord token, and ``PYTHONPATH``
pointing at this checkout; it runs in ``workdir`` so no developer ``.env`` is read.
stdout and stderr go to one log file (``log_path``, appended across launches, each
launch headed by a marker line); ``log_text()``, ``log_errors()`` and ``launches``
(pid, start, ready and end times, how it ended) are there for tests and benchmarks.

Ready means: the Discord stand-in (when given) saw this process IDENTIFY and sent it
READY and every GUILD_CREATE, and (unless ``ready_marker`` is None) the log shows
discord.py's ``on_ready`` (``ready as ...``), which comes ``guild_ready_timeout``
(2 s in Warden) after the last GUILD_CREATE. ``memory()`` reads the process's current
and peak resident size from ``/proc``.
"""

from __future__ import annotations

import asyncio
import enum
import os
import re
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from pydantic import SecretStr

from bot.settings import Settings
from tests.standins.discord import DiscordStandIn

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_TOKEN = "standin-bot-token-not-a-real-one-0123456789"
READY_MARKER = "ready as "
"""What Warden's ``on_ready`` logs (``bot.app.WardenBot.on_ready``)."""
_ERROR_LINE = re.compile(r"\b(ERROR|CRITICAL)\b|^Traceback \(most recent call last\)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
"""discord.py colours its log lines when it believes it runs in Docker, even into a file."""


class LaunchError(AssertionError):
    """The process did not become ready, or ended when it should not have; the message
    carries the end of its log."""


def settings_env(settings: Settings) -> dict[str, str]:
    """Every setting as the environment variable ``bot.settings`` reads it from, so a
    process started with this environment (and no ``.env``) has exactly ``settings``."""
    env: dict[str, str] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, bool):
            value = "true" if value else "false"
        env[name.upper()] = str(value)
    return env


def base_env(home: Path) -> dict[str, str]:
    """What any Python child needs, and nothing from the caller's own Warden settings."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for name in ("LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


@dataclass
class Launch:
    """One run of the process."""

    number: int
    pid: int
    started_at: float
    """``time.perf_counter()`` just before the process was spawned."""
    log_offset: int
    """Where this launch's output starts in the log file."""
    sessions_before: int
    ready_at: float | None = None
    ended_at: float | None = None
    returncode: int | None = None
    ended_by: str | None = None
    """``"SIGKILL"`` / ``"SIGTERM"`` when this harness stopped it, ``"itself"`` otherwise."""

    @property
    def seconds_to_ready(self) -> float | None:
        return None if self.ready_at is None else self.ready_at - self.started_at


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


@dataclass
class WardenProcess:
    """``python -m bot run`` (or ``args``) as a child process; see the module docstring."""

    env: Mapping[str, str]
    workdir: Path
    discord: DiscordStandIn | None = None
    args: Sequence[str] = ("run",)
    python: str = sys.executable
    ready_marker: str | None = READY_MARKER
    ready_timeout: float = 60.0
    log_path: Path | None = None
    shards: frozenset[int] | None = None
    """The shards it runs (``SHARD_IDS``), when other processes run the rest: only their
    gateway sessions say it is ready."""
    launches: list[Launch] = field(default_factory=list)
    _proc: asyncio.subprocess.Process | None = field(default=None, repr=False)
    _scanned: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.log_path is None:
            self.log_path = self.workdir / "warden.log"

    @classmethod
    def for_settings(
        cls,
        settings: Settings,
        *,
        workdir: Path,
        discord: DiscordStandIn | None = None,
        token: str = DEFAULT_TOKEN,
        extra_env: Mapping[str, str] | None = None,
        args: Sequence[str] = ("run",),
        ready_marker: str | None = READY_MARKER,
        ready_timeout: float = 60.0,
        log_path: Path | None = None,
    ) -> WardenProcess:
        """A process whose settings are ``settings`` (plus ``DISCORD_TOKEN=token`` and
        ``extra_env``, e.g. ``LOG_LEVEL`` or ``PYTHONTRACEMALLOC``)."""
        env = base_env(workdir) | settings_env(settings) | {"DISCORD_TOKEN": token}
        env |= dict(extra_env or {})
        shards = settings.shard_list()
        return cls(env=env, workdir=workdir, discord=discord, args=args,
                   ready_marker=ready_marker, ready_timeout=ready_timeout, log_path=log_path,
                   shards=None if shards is None else frozenset(shards))

    # ---- state ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.running and self._proc is not None else None

    @property
    def current(self) -> Launch | None:
        return self.launches[-1] if self.launches else None

    @property
    def unexpected_exits(self) -> list[Launch]:
        """Launches that ended without this harness stopping them (crashes)."""
        return [launch for launch in self.launches if launch.ended_by == "itself"]

    # ---- life cycle ----------------------------------------------------------------

    async def __aenter__(self) -> WardenProcess:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.running:
            await self.terminate(timeout=15.0)

    async def start(self, *, wait: bool = True) -> Launch:
        """Spawn the process (over the same database as before) and, with ``wait``, return
        once it is ready; raises ``LaunchError`` if it exits or times out first."""
        if self.running:
            raise RuntimeError("the process is already running; kill or terminate it first")
        assert self.log_path is not None
        number = len(self.launches) + 1
        with self.log_path.open("ab") as log:
            log.write(f"=== harness: launch {number} ===\n".encode())
            log.flush()
            offset = log.tell()
            sessions = len(self.discord.gateway.sessions) if self.discord is not None else 0
            started = time.perf_counter()
            self._proc = await asyncio.create_subprocess_exec(
                self.python, "-m", "bot", *self.args,
                cwd=self.workdir, env=dict(self.env),
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            )
        launch = Launch(number, self._proc.pid, started, offset, sessions)
        self.launches.append(launch)
        self._scanned = offset
        if wait:
            await self.wait_ready()
        return launch

    async def wait_ready(self, timeout: float | None = None) -> Launch:  # noqa: ASYNC109
        launch = self.current
        if launch is None:
            raise RuntimeError("start the process first")
        if launch.ready_at is not None:
            return launch
        limit = self.ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while not (self._gateway_ready(launch) and self._marker_seen()):
            if not self.running:
                await self._reap("itself")
                raise LaunchError(f"Warden exited with {launch.returncode} before it was "
                                  f"ready:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise LaunchError(f"Warden was not ready after {limit:.0f}s:\n{self.log_tail()}")
            await asyncio.sleep(0.01)
        launch.ready_at = time.perf_counter()
        return launch

    async def kill(self) -> int | None:
        """SIGKILL: the process dies at once, mid-whatever (as in a crash). Returns the
        exit status (negative signal number), or None if it was not running."""
        return await self._signal(signal.SIGKILL, "SIGKILL", timeout=10.0)

    async def terminate(self, timeout: float = 30.0) -> int | None:  # noqa: ASYNC109
        """SIGTERM, Warden's graceful stop; SIGKILL after ``timeout`` seconds (then
        ``ended_by`` says ``SIGTERM->SIGKILL``). Returns the exit status."""
        return await self._signal(signal.SIGTERM, "SIGTERM", timeout=timeout)

    async def restart(self) -> Launch:
        """SIGKILL if running, then start again over the same database."""
        if self.running:
            await self.kill()
        return await self.start()

    async def wait_exit(self, timeout: float) -> int:  # noqa: ASYNC109
        """Wait for the process to end by itself (it counts as ``"itself"``)."""
        assert self._proc is not None
        await asyncio.wait_for(self._proc.wait(), timeout)
        await self._reap("itself")
        assert self._proc.returncode is not None
        return self._proc.returncode

    async def _signal(self, sig: signal.Signals, name: str, *, timeout: float) -> int | None:  # noqa: ASYNC109
        proc = self._proc
        if proc is None or proc.returncode is not None:
            if proc is not None:
                await self._reap("itself")
            return None
        proc.send_signal(sig)
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            name = f"{name}->SIGKILL"
        await self._reap(name)
        return proc.returncode

    async def _reap(self, ended_by: str) -> None:
        proc, launch = self._proc, self.current
        if proc is None or launch is None or launch.ended_at is not None:
            return
        await proc.wait()
        launch.ended_at = time.perf_counter()
        launch.returncode = proc.returncode
        launch.ended_by = ended_by

    def _gateway_ready(self, launch: Launch) -> bool:
        if self.discord is None:
            return True
        gateway = self.discord.gateway
        sessions = [s for s in list(gateway.sessions.values())[launch.sessions_before:]
                    if self.shards is None or s.shard_id in self.shards]
        if not sessions or not sessions[-1].connected:
            return False
        session = sessions[-1]
        guilds = sum(1 for g in self.discord.guilds if session.handles_guild(g.id))
        return session.seq >= 1 + guilds  # READY, then one GUILD_CREATE per guild

    def _marker_seen(self) -> bool:
        if self.ready_marker is None:
            return True
        assert self.log_path is not None and self.current is not None
        marker = self.ready_marker.encode()
        # Read only what is new, plus a marker's length in case a write cut it in two.
        start = max(self._scanned - len(marker), self.current.log_offset)
        with self.log_path.open("rb") as log:
            log.seek(start)
            chunk = log.read()
        self._scanned = start + len(chunk)
        return marker in chunk

    # ---- what it said ----------------------------------------------------------------

    def log_text(self, launch: Launch | None = None) -> str:
        """The whole log, or one launch's part of it."""
        assert self.log_path is not None
        if not self.log_path.exists():
            return ""
        data = self.log_path.read_bytes()
        if launch is not None:
            later = [la for la in self.launches if la.number > launch.number]
            end = later[0].log_offset if later else len(data)
            data = data[launch.log_offset:end]
        return _ANSI.sub("", data.decode("utf-8", "replace"))

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def log_errors(self) -> list[str]:
        """Log lines at ERROR or CRITICAL, and the first line of every traceback."""
        return [line for line in self.log_text().splitlines() if _ERROR_LINE.search(line)]

    def memory(self) -> dict[str, int]:
        """``{"rss_kb": ..., "peak_rss_kb": ...}`` of the running process (from /proc)."""
        pid = self.pid
        if pid is None:
            raise RuntimeError("the process is not running")
        found: dict[str, int] = {}
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found["rss_kb" if key == "VmRSS" else "peak_rss_kb"] = int(value.split()[0])
        return found

    # ---- other commands over the same settings ---------------------------------------------

    async def cli(self, *args: str, timeout: float = 60.0) -> CliResult:  # noqa: ASYNC109
        """``python -m bot ARGS`` with the same environment and working directory
        (``audit verify``, ``backup PATH``, ``sync --guild ID``...)."""
        proc = await asyncio.create_subprocess_exec(
            self.python, "-m", "bot", *args,
            cwd=self.workdir, env=dict(self.env), stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        return CliResult(proc.returncode or 0, out.decode(errors="replace"),
                         err.decode(errors="replace"))

    async def sync_commands(self, guild_id: int | None = None) -> None:
        """Register Warden's commands with the Discord stand-in (``python -m bot sync``),
        which is where the stand-in learns their options when the bot runs elsewhere."""
        args = ["sync"] + ([] if guild_id is None else ["--guild", str(guild_id)])
        result = await self.cli(*args)
        if result.code != 0:
            raise LaunchError(f"`python -m bot {' '.join(args)}` failed ({result.code}):\n"
                              f"{result.stderr}")
