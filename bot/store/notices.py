"""Messages owed to reporters (``reporter_notices``): queued inside the transaction that
makes them due, marked told where the message is confirmed sent."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from bot.i18n.text import from_json, to_json
from bot.store.database import Conn, Database, Row

OUTCOME = "outcome"
QUESTION = "question"
DECISION = "decision"
MAX_FAILURES = 3
"""DM attempts that failed (not closed DMs) before a notice is given up."""

_COLUMNS = ("id, report_id, recipient_id, kind, title, body, failures, created_at,"
            " live_token, live_since, words")


TELLING_SECONDS = 60.0
"""How long a process's claim to DM a notice keeps the others off it (a DM takes far
less; a claim whose process died runs out)."""


@dataclass(frozen=True)
class ProcessRun:
    """This run of this process, as recorded on what it holds: ``host`` stays the same
    after a restart (the outbox lease owner: host and shards), ``run`` does not."""

    host: str
    run: str

    @property
    def name(self) -> str:
        return f"{self.host}#{self.run}"

    @property
    def host_prefix(self) -> str:
        return f"{self.host}#"


@dataclass(frozen=True)
class LiveReply:
    """Who holds a report's live reply (the member's open interaction), until when."""

    owner: str
    until: float


@dataclass(frozen=True)
class NewNotice:
    recipient_id: int
    kind: str
    title: str | None = None
    """A message (``bot.i18n.t``): stored as its id and parameters, so it is rendered in
    the reporter's language when told, not in English now."""
    body: str | None = None


@dataclass(frozen=True)
class ReporterNotice:
    id: int
    report_id: int
    recipient_id: int
    kind: str
    title: str | None
    body: str | None
    failures: int
    created_at: float
    live_token: str | None = None
    live_since: float | None = None

    @classmethod
    def from_row(cls, row: Row) -> ReporterNotice:
        values = {k: row[k] for k in cls.__dataclass_fields__}
        if row["words"] is not None:
            words = json.loads(row["words"])
            values["title"] = None if words.get("title") is None else from_json(words["title"])
            values["body"] = None if words.get("body") is None else from_json(words["body"])
        return cls(**values)


def queue(conn: Conn, report_id: int, notice: NewNotice, now: float) -> int:
    """Queue a question or decision inside the caller's transaction."""
    words = json.dumps({"title": None if notice.title is None else to_json(notice.title),
                        "body": None if notice.body is None else to_json(notice.body)})
    cur = conn.execute(
        "INSERT INTO reporter_notices (report_id, recipient_id, kind, words, created_at)"
        " VALUES (?, ?, ?, ?, ?) RETURNING id",
        (report_id, notice.recipient_id, notice.kind, words, now),
    )
    return int(cur.fetchall()[0][0])


def queue_outcome_if_final(conn: Conn, report_id: int,
                           final_statuses: tuple[str, ...], now: float) -> None:
    """Inside the transaction that finished one of the report's deliveries: if none is
    left unfinished, the reporter is owed the outcome (once, while one is waiting)."""
    marks = ", ".join("?" for _ in final_statuses)
    unfinished = conn.execute(
        f"SELECT COUNT(*) FROM deliveries WHERE report_id = ? AND status NOT IN ({marks})",  # noqa: S608 - placeholders only
        (report_id, *final_statuses),
    ).fetchall()[0][0]
    if unfinished:
        return
    conn.execute(
        "INSERT INTO reporter_notices (report_id, recipient_id, kind, created_at)"
        " SELECT id, reporter_id, 'outcome', ? FROM reports WHERE id = ?"
        " ON CONFLICT DO NOTHING",
        (now, report_id),
    )
    # Told by the database a restore replaced: recorded as told, so it is not told twice.
    conn.execute(
        "UPDATE reporter_notices SET told_at = ?, told_via = 'before_restore'"
        " WHERE report_id = ? AND kind = 'outcome' AND told_at IS NULL AND EXISTS ("
        " SELECT 1 FROM told_before_restore t JOIN reports r ON r.uuid = t.report_uuid"
        " WHERE r.id = ?)",
        (now, report_id, report_id),
    )


class NoticeStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def told_outcomes(self) -> list[tuple[str, float]]:
        """(report uuid, when) of every outcome told: what a restore carries over."""
        rows = await self._db.fetch_all(
            "SELECT r.uuid, MAX(n.told_at) FROM reporter_notices n"
            " JOIN reports r ON r.id = n.report_id"
            " WHERE n.kind = 'outcome' AND n.told_at IS NOT NULL AND r.uuid IS NOT NULL"
            " GROUP BY r.uuid",
        )
        return [(str(r[0]), float(r[1])) for r in rows]

    async def remember_told_before_restore(self, told: list[tuple[str, float]]) -> int:
        """In a restored database: outcomes the replaced one had told. Those of reports
        whose deliveries are already final here are marked told now; the rest are marked
        when their deliveries end. Returns how many reports this covers."""
        now = time.time()

        def remember(conn: Conn) -> int:
            conn.executemany(
                "INSERT INTO told_before_restore (report_uuid, told_at) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                told,
            )
            conn.execute(
                "UPDATE reporter_notices SET told_at = ?, told_via = 'before_restore'"
                " WHERE kind = 'outcome' AND told_at IS NULL AND report_id IN ("
                " SELECT r.id FROM reports r JOIN told_before_restore t"
                " ON t.report_uuid = r.uuid)",
                (now,),
            )
            return len(told)

        return await self._db.write(remember)

    async def untold(self, *, after_id: int = 0, limit: int = 100) -> list[ReporterNotice]:
        """Notices still owed, oldest first (the start-up sweep pages with ``after_id``)."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM reporter_notices WHERE told_at IS NULL AND id > ?"  # noqa: S608 - constant columns
            " ORDER BY id LIMIT ?",
            (after_id, limit),
        )
        return [ReporterNotice.from_row(r) for r in rows]

    async def get_untold(self, notice_id: int) -> ReporterNotice | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM reporter_notices WHERE id = ? AND told_at IS NULL",  # noqa: S608 - constant columns
            (notice_id,),
        )
        return None if row is None else ReporterNotice.from_row(row)

    async def untold_outcome(self, report_id: int) -> ReporterNotice | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM reporter_notices WHERE report_id = ? AND kind = 'outcome'"  # noqa: S608 - constant columns
            " AND told_at IS NULL",
            (report_id,),
        )
        return None if row is None else ReporterNotice.from_row(row)

    async def latest_untold(self, report_id: int, kind: str) -> ReporterNotice | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM reporter_notices WHERE report_id = ? AND kind = ?"  # noqa: S608 - constant columns
            " AND told_at IS NULL ORDER BY id DESC LIMIT 1",
            (report_id, kind),
        )
        return None if row is None else ReporterNotice.from_row(row)

    async def add(self, report_id: int, notice: NewNotice) -> int:
        return await self._db.write(lambda conn: queue(conn, report_id, notice, time.time()))

    async def showing_in_place(self, report_id: int, token: str) -> bool:
        """Before the outcome is edited into the live reply: which reply, so that a crash
        before ``mark_told`` can be checked at the next start."""
        return await self._db.execute(
            "UPDATE reporter_notices SET live_token = ?, live_since = ?"
            " WHERE report_id = ? AND kind = 'outcome' AND told_at IS NULL",
            (token, time.time(), report_id),
        ) == 1

    async def claim_telling(self, notice_id: int, me: ProcessRun,
                            now: float | None = None) -> bool:
        """Take the right to DM ``notice_id`` now; False while another process holds it
        (a claim of an earlier run of this process is taken over: that run is gone)."""
        when = time.time() if now is None else now
        return await self._db.execute(
            "UPDATE reporter_notices SET telling_by = ?, telling_until = ?"
            " WHERE id = ? AND told_at IS NULL AND (telling_until IS NULL"
            " OR telling_until < ? OR substr(telling_by, 1, ?) = ?)",
            (me.name, when + TELLING_SECONDS, notice_id, when, len(me.host_prefix),
             me.host_prefix),
        ) == 1

    async def live_holder(self, report_id: int) -> LiveReply | None:
        row = await self._db.fetch_one(
            "SELECT live_owner, live_until FROM reports WHERE id = ?"
            " AND live_owner IS NOT NULL",
            (report_id,),
        )
        return None if row is None else LiveReply(str(row[0]), float(row[1]))

    async def take_over_live(self, me: ProcessRun, now: float | None = None) -> list[int]:
        """The reports whose live reply an earlier run of this process held and could
        still have answered: released (that interaction is gone), for this run to tell."""
        when = time.time() if now is None else now
        rows = await self._db.write(lambda conn: conn.execute(
            "UPDATE reports SET live_owner = NULL WHERE live_owner IS NOT NULL"
            " AND live_until > ? AND substr(live_owner, 1, ?) = ? AND live_owner <> ?"
            " RETURNING id",
            (when, len(me.host_prefix), me.host_prefix, me.name),
        ).fetchall())
        return [int(r[0]) for r in rows]

    async def mark_told(self, notice_id: int, via: str) -> bool:
        """False if it was already told (by another path)."""
        return await self._db.execute(
            "UPDATE reporter_notices SET told_at = ?, told_via = ?, live_token = NULL,"
            " telling_until = NULL WHERE id = ? AND told_at IS NULL",
            (time.time(), via, notice_id),
        ) == 1

    async def mark_failed(self, notice_id: int) -> None:
        """One more failed DM; after ``MAX_FAILURES`` the notice is given up."""
        now = time.time()
        await self._db.execute(
            "UPDATE reporter_notices SET failures = failures + 1, telling_until = NULL,"
            " told_at = CASE WHEN failures + 1 >= ? THEN ? END,"
            " told_via = CASE WHEN failures + 1 >= ? THEN 'gave_up' END"
            " WHERE id = ? AND told_at IS NULL",
            (MAX_FAILURES, now, MAX_FAILURES, notice_id),
        )
