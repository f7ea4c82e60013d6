"""Every benchmark in ``bench/`` still runs end to end, at toy sizes.

Not a measurement: the figures are not checked (at these sizes they mean nothing),
only that each script ran its real path (Warden and the floors in their own
processes, the stand-ins here), printed a table of figures and the command that
reproduces them, and ended with 0 (targets met) or 3 (a target missed), never with
a crash.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.common import TARGET_MISSED
from tests.standins.launch import base_env

REPO = Path(__file__).resolve().parents[1]

SCRIPTS = {
    "ack_latency": ["--levels", "1,3", "--waves", "2,1"],
    "throughput": ["--reports", "12", "--members", "30", "--concurrency", "4"],
    "limit_checks": ["--reports", "20000", "--checks", "20"],
    "memory": ["--reports", "8", "--members", "20", "--concurrency", "4"],
    "startup": ["--guilds", "3", "--starts", "1", "--shipped-starts", "0"],
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_benchmark_script_runs(name: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *SCRIPTS[name], "--workdir", str(tmp_path)],
        cwd=REPO, env=base_env(tmp_path), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode in (0, TARGET_MISSED), result.stdout + result.stderr
    assert f"command: python -m bench.{name} " in result.stdout
    assert "|---" in result.stdout, result.stdout  # the figures, as a table
