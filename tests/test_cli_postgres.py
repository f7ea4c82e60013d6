"""The CLI on PostgreSQL (DATABASE_URL): migrate, check, and backup's plain answer."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import run_cli


def _with_password(url: str) -> str:
    # The test server trusts local connections, so any password gets in; it must never
    # be printed.
    return url.replace("postgres:@", "postgres:hunter2-secret@", 1)


def test_migrate_then_check_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    env = {"DATABASE_URL": _with_password(postgres_url)}
    migrated = run_cli("migrate", cwd=tmp_path, env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "schema version 8 (0001_initial.sql, 0002_report_counters.sql," in migrated.stdout
    again = run_cli("migrate", cwd=tmp_path, env=env)
    assert "schema version 8 (none pending)" in again.stdout
    checked = run_cli("check", cwd=tmp_path, env={**env, "DISCORD_TOKEN": "x" * 30})
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ready (schema version 8)" in checked.stdout
    output = migrated.stdout + migrated.stderr + checked.stdout + checked.stderr
    assert "hunter2-secret" not in output
    assert not (tmp_path / "data").exists()  # no SQLite file on the side


def test_backup_on_postgresql_names_pg_dump(tmp_path: Path, postgres_url: str) -> None:
    result = run_cli("backup", "copy.db", cwd=tmp_path, env={"DATABASE_URL": postgres_url})
    assert result.returncode == 2
    assert "pg_dump" in result.stderr and "Traceback" not in result.stderr


def test_a_database_url_that_is_not_postgresql_is_refused(tmp_path: Path) -> None:
    result = run_cli("migrate", cwd=tmp_path, env={"DATABASE_URL": "mysql://x@y/z"})
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_an_unreachable_postgresql_is_one_clear_line(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgresql://warden:pw@127.0.0.1:1/warden?connect_timeout=2"}
    result = run_cli("migrate", cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert "cannot connect to PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr and ":pw@" not in result.stderr
