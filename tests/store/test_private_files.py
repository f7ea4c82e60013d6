"""The database and its backups are readable by Warden's user only, whatever the umask
of the shell that created them; the systemd unit keeps it that way for new files."""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.store import Database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The common shell default: new files world-readable."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("permissive_umask")
async def test_a_new_database_its_wal_and_its_folder_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "warden.db"
    db = await Database.open(path)
    try:
        await db.execute("INSERT INTO kv_state (key, value, updated_at) VALUES ('x', '1', 0)")
        files = [p for p in path.parent.iterdir() if p.name.startswith("warden.db")]
        assert {p.name for p in files} >= {"warden.db", "warden.db-wal", "warden.db-shm"}
        for file in files:
            assert mode(file) == 0o600, file.name
        assert mode(path.parent) == 0o700
        backup = tmp_path / "backups" / "warden-backup.db"
        await db.backup_to(backup)
        assert mode(backup) == 0o600
    finally:
        await db.close()


@pytest.mark.usefixtures("permissive_umask")
async def test_an_existing_world_readable_database_is_named_in_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "warden.db"
    await (await Database.open(path)).close()
    path.chmod(0o644)
    caplog.set_level(logging.WARNING)
    db = await Database.open(path)
    await db.close()
    assert f"chmod 600 {path}" in caplog.text


def test_the_systemd_unit_makes_new_files_owner_only() -> None:
    unit = (ROOT / "deploy" / "warden.service").read_text()
    assert re.search(r"^UMask=0077$", unit, re.MULTILINE)
    assert "chmod 600 /opt/warden/.env" in unit
