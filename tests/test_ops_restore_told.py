"""A restore puts back an older database that does not know which reporters were told
their outcome since the backup. Those reports' deliveries are checked upstream and end
again; the reporter must not be told a second time."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from bot.domain import DeliveryStatus, NewReport
from bot.store import Database, Store
from tests.report_rig import NO_LIMITS
from tests.test_ops_backup import cli

pytestmark = pytest.mark.usefixtures("isolated_env")

GUILD, ALICE, BOB = 10, 11, 12


async def accepted_report(store: Store, reporter: int) -> int:
    draft = await store.reports.create_draft(NewReport(
        guild_id=GUILD, channel_id=None, reporter_id=reporter, reason="cheating",
        target_key="game:x", target_player_uuid="x", reporter_player_uuid="y"))
    await store.reports.accept(draft.id, limits=NO_LIMITS, actor_id=reporter,
                               deliveries=[("sanctions", "pending")])
    return draft.id


async def deliver_and_tell(store: Store, report_id: int) -> None:
    await store.deliveries.finish(report_id, "sanctions", status=DeliveryStatus.SENT,
                                  upstream_id="up")
    notice = await store.notices.untold_outcome(report_id)
    assert notice is not None
    await store.notices.mark_told(notice.id, "dm")


async def test_an_outcome_told_after_the_backup_is_not_told_again_after_a_restore(
    tmp_path: Path,
) -> None:
    live = tmp_path / "data" / "warden.db"
    backup = tmp_path / "backup.db"
    db = await Database.open(live)
    store = Store(db)
    told_since = await accepted_report(store, ALICE)
    never_told = await accepted_report(store, BOB)
    await db.backup_to(backup)
    await deliver_and_tell(store, told_since)  # after the backup: Alice was told
    await db.close()

    code, _out, err = await cli("restore", str(backup), database=live, cwd=tmp_path)
    assert code == 0, err

    db = await Database.open(live)
    store = Store(db)
    try:
        # The restored copy still has both pending; the outbox checks and finishes them.
        for report_id in (told_since, never_told):
            await store.deliveries.finish(report_id, "sanctions",
                                          status=DeliveryStatus.SENT, upstream_id="up")
        owed = [n.report_id for n in await store.notices.untold()]
        assert owed == [never_told], "Alice was already told; Bob never was"
    finally:
        await db.close()
    with closing(sqlite3.connect(live)) as conn:
        [(via,)] = conn.execute("SELECT told_via FROM reporter_notices WHERE report_id = ?",
                                (told_since,)).fetchall()
    assert via == "before_restore"
