"""The operator's command line, run as a real subprocess in an empty environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_with_empty_environment_names_the_token(tmp_path: Path) -> None:
    result = run_cli("check", cwd=tmp_path)
    assert result.returncode == 2
    assert "DISCORD_TOKEN" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_check_with_token_reports_database_ready(tmp_path: Path) -> None:
    result = run_cli("check", cwd=tmp_path, env={"DISCORD_TOKEN": "x" * 30})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ready (schema version" in result.stdout
    assert (tmp_path / "data" / "warden.db").exists()
    assert "x" * 30 not in result.stdout


def test_sync_dry_run_prints_the_command_tree_without_a_token(tmp_path: Path) -> None:
    result = run_cli("sync", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    names = [c["name"] for c in payload]
    assert "about" in names
    assert len(names) == len(set(names))
    assert not (tmp_path / "data").exists(), "a dry run must not create the database"


def test_invalid_setting_is_one_line_exit_2(tmp_path: Path) -> None:
    result = run_cli("migrate", cwd=tmp_path, env={"WEB_PORT": "not-a-port"})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "WEB_PORT" in result.stderr


def test_unknown_command_is_one_line_exit_2(tmp_path: Path) -> None:
    result = run_cli("frobnicate", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1


def test_migrate_then_backup_then_refuse_overwrite(tmp_path: Path) -> None:
    assert run_cli("migrate", cwd=tmp_path).returncode == 0
    first = run_cli("backup", "copy.db", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "copy.db").stat().st_size > 0
    again = run_cli("backup", "copy.db", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_backup_without_database_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("backup", "copy.db", cwd=tmp_path)
    assert result.returncode == 2
    assert "no database at" in result.stderr


def test_keygen_prints_a_usable_key(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    result = run_cli("keygen", cwd=tmp_path)
    assert result.returncode == 0
    Fernet(result.stdout.strip().encode())


@pytest.mark.parametrize("args", [["--help"], ["sync", "--help"], ["audit", "--help"]])
def test_help_works(tmp_path: Path, args: list[str]) -> None:
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 0 and "usage:" in result.stdout
