"""What every benchmark prints: the machine, the command, and figures beside floors."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

TARGET_MISSED = 3
"""Exit status of a benchmark that ran but missed a target (a crash exits with 1)."""


def machine() -> str:
    """Cores, memory and Python, for the results table."""
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = os.cpu_count() or 0
    parts = [f"{cores} cores" + (f" ({model})" if model else ""),
             f"{mem_kib / 1024 / 1024:.0f} GiB RAM",
             f"Python {platform.python_version()}", platform.system()]
    return ", ".join(parts)


def command() -> str:
    """How this run was started, to print beside its figures."""
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    args = " ".join(shlex.quote(a) for a in sys.argv[1:])
    if spec is not None and spec.name:
        return f"python -m {spec.name.removesuffix('.__main__')} {args}".strip()
    return f"python {shlex.quote(sys.argv[0])} {args}".strip()


def header(title: str) -> None:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"== {title} ==")
    print(f"date:    {stamp}")
    print(f"machine: {machine()}")
    print(f"command: {command()}", flush=True)


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(value: float, floor: float) -> str:
    return f"{value / floor:.2f}x" if floor else "n/a"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def table(rows: Sequence[Sequence[str]]) -> str:
    """A markdown table; the first row is the header."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    out = [line(rows[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows[1:]]
    return "\n".join(out)


def workdir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the database and process logs go (default: a temporary "
                             "folder, removed afterwards)")


class Workdir:
    """The ``--workdir`` folder, or a temporary one removed on exit."""

    def __init__(self, given: Path | None, prefix: str) -> None:
        self._temp = None if given is not None else tempfile.TemporaryDirectory(prefix=prefix)
        self.path = given if given is not None else Path(self._temp.name)  # type: ignore[union-attr]

    def __enter__(self) -> Path:
        self.path.mkdir(parents=True, exist_ok=True)
        return self.path

    def __exit__(self, *exc: object) -> None:
        if self._temp is not None:
            self._temp.cleanup()
