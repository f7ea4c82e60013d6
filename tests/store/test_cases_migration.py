"""Migration 0012 on a database made by the previous release (migrations 1-11, with reports
in every status it knew): every report, note, delivery and notice is kept, and every
accepted report is in a case saying what moderators did."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.domain import ActionKind, CaseStatus
from bot.store import Store
from bot.store.database import Database, bundled_migrations

GUILD = 7
MOD = 90
# (id, status, claimed_by, decided_by, decision_reason)
OLD_REPORTS = [
    (1, "open", None, None, None),
    (2, "claimed", MOD, None, None),
    (3, "forwarded", None, None, None),  # auto mode
    (4, "forwarded", None, MOD, None),  # approved by a moderator
    (5, "dismissed", MOD, MOD, "a lag spike"),
    (6, "draft", None, None, None),
    (7, "cancelled", None, None, None),
]


def _fill_previous_release(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        for rid, status, claimed, decided, why in OLD_REPORTS:
            accepted = None if status in ("draft", "cancelled") else 100.0 + rid
            conn.execute(
                "INSERT INTO reports (id, guild_id, number, reporter_id, reason, description,"
                " target_key, activity_id, evidence, status, claimed_by, decided_by,"
                " decision_reason, review_channel_id, review_message_id, created_at,"
                " accepted_at, updated_at, uuid) VALUES (?, ?, ?, ?, 'cheating', ?, ?, ?,"
                " '[]', ?, ?, ?, ?, 55, ?, ?, ?, ?, ?)",
                (rid, GUILD, rid, 1000 + rid, f"text {rid}", f"bungie:{rid}", 500 + rid, status,
                 claimed, decided, why, 9000 + rid, 100.0 + rid, accepted, 200.0 + rid,
                 f"uuid-{rid}"))
            if accepted is not None:
                conn.execute(
                    "INSERT INTO deliveries (report_id, destination, status, next_attempt_at,"
                    " created_at, updated_at) VALUES (?, 'sanctions', 'sent', 0, 0, 0)", (rid,))
                conn.execute(
                    "INSERT INTO report_notes (report_id, author_id, kind, body, created_at)"
                    " VALUES (?, ?, 'note', 'kept', 0)", (rid, MOD))
                conn.execute(
                    "INSERT INTO reporter_notices (report_id, recipient_id, kind, created_at)"
                    " VALUES (?, ?, 'outcome', 0)", (rid, 1000 + rid))


async def test_every_existing_report_is_kept_and_gets_its_case(tmp_path: Path) -> None:
    path = tmp_path / "warden.db"
    previous = [m for m in bundled_migrations() if m.version <= 11]
    db = await Database.open(path, migrate=False)
    await db.migrate(previous)
    await db.close()
    _fill_previous_release(path)

    db = await Database.open(path)  # the upgrade: migration 0012 onwards
    try:
        store = Store(db)
        for rid, status, *_ in OLD_REPORTS:
            report = await store.reports.get(rid)
            assert report is not None, rid
            assert (report.number, report.description, report.uuid, report.review_message_id) \
                == (rid, f"text {rid}", f"uuid-{rid}", 9000 + rid)
            if status in ("draft", "cancelled"):
                assert report.status == status and report.case_id is None
                continue
            assert report.status == "accepted" and report.case_id == rid
            case = await store.cases.get(rid)
            assert case is not None and case.lead_report_id == rid
            assert len(await store.deliveries.for_report(rid)) == 1
            assert len(await store.reports.notes(rid)) == 1
        cases = {rid: await store.cases.get(rid) for rid in (1, 2, 3, 4, 5)}
        assert {rid: c.status for rid, c in cases.items() if c} == {
            1: CaseStatus.OPEN, 2: CaseStatus.CLAIMED, 3: CaseStatus.OPEN,
            4: CaseStatus.RESOLVED, 5: CaseStatus.DISMISSED}
        assert cases[2] is not None and cases[2].claimed_by == MOD
        assert cases[4] is not None and cases[4].decided_by == MOD
        assert cases[4].outcome is not None and cases[4].outcome.action is ActionKind.OTHER
        assert cases[5] is not None and (cases[5].decided_by, cases[5].note) == (MOD, "a lag spike")
        assert len(await store.notices.untold()) == 5
        assert await db.integrity_problems() == []
        rows = await db.fetch_all("PRAGMA foreign_key_check")
        assert rows == []
    finally:
        await db.close()
