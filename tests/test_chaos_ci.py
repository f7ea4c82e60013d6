"""The chaos run (``python -m chaos.run``) at CI size: a few hundred reports while a fifth
of the API requests fail and Warden, as its own process, is SIGKILLed once and started
again over the same database. Every invariant must hold: nothing acknowledged is lost,
nothing reaches an upstream twice, the audit chain verifies."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.run import ChaosConfig, run_chaos
from tests.support import clean_env


async def test_reports_survive_a_kill_and_failing_apis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_env(monkeypatch, tmp_path)
    config = ChaosConfig(reports=300, kills=1, fault_rate=0.2, seed=7, reporters=48,
                         time_limit=240.0, drain_timeout=90.0)  # bounds: a loaded machine is slow
    result = await run_chaos(config, tmp_path / "chaos", say=lambda _: None)
    assert result.ok, result.text + "\n\n" + "\n".join(result.problems)
    t = result.tally
    # The run did what it says: faults and the kill happened, members were answered.
    assert len(result.kills) == 1
    assert t.acknowledged >= 0.9 * config.reports
    assert t.by_status[("sanctions", "sent")] >= 0.9 * config.reports
    # An ambiguous Bungie answer is re-sent once; Bungie refuses a repeat of one that
    # landed (1403), which counts as delivered, so no duplicate reaches it.
    assert t.already_reported_bungie > 0 and t.duplicates_bungie == 0


async def test_reports_survive_a_kill_and_failing_apis_on_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clean_env(monkeypatch, tmp_path)
    config = ChaosConfig(reports=150, kills=1, fault_rate=0.2, seed=11, reporters=32,
                         time_limit=240.0, drain_timeout=90.0, database="postgresql")
    result = await run_chaos(config, tmp_path / "chaos", say=lambda _: None)
    assert result.ok, result.text + "\n\n" + "\n".join(result.problems)
    assert len(result.kills) == 1
    assert result.tally.acknowledged >= 0.9 * config.reports
    assert result.tally.duplicates_sanctions == 0 and result.tally.duplicates_bungie == 0


async def test_two_processes_survive_kills_of_either_and_failing_apis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two Warden processes on one PostgreSQL database, each with half of the shards: one
    kill each while members file; the members' process tells them what the other sent."""
    clean_env(monkeypatch, tmp_path)
    config = ChaosConfig(reports=150, kills=2, fault_rate=0.2, seed=11, reporters=32,
                         time_limit=240.0, drain_timeout=90.0, database="postgresql",
                         processes=2)
    result = await run_chaos(config, tmp_path / "chaos", say=lambda _: None)
    assert result.ok, result.text + "\n\n" + "\n".join(result.problems)
    assert [k.rsplit(", ", 1)[1] for k in result.kills] == ["process 0", "process 1"]
    assert result.tally.acknowledged >= 0.9 * config.reports
    assert result.tally.duplicates_sanctions == 0 and result.tally.duplicates_bungie == 0
