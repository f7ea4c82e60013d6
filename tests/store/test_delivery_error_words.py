"""A delivery's error is kept as a message (``last_error_words``, SQLite 0022 / PostgreSQL
0011) beside its English, on both engines: read back, it renders in any reader's language
while its English, which logs, exports and the delivery logic read, stays as it was. Rows
written before the migration read back as the English they were written with."""

from __future__ import annotations

from pathlib import Path

from bot.domain import NewReport, ReportLimits
from bot.i18n import Text, localize, t
from bot.services.delivery.outbox import may_have_landed, not_sent
from bot.store import Database, Store
from bot.store.database import bundled_migrations
from bot.store.deliveries import RESEND_CONFIRMED
from bot.store.reports import Accepted

UPSTREAM = "upstream says: queue full"


async def accepted(store: Store) -> int:
    draft = await store.reports.create_draft(NewReport(
        guild_id=10, channel_id=1, reporter_id=20, reason="cheating", target_key="bungie:1"))
    done = await store.reports.accept(draft.id, limits=ReportLimits(),
                                      deliveries=[("sanctions", "pending")], actor_id=20)
    assert isinstance(done, Accepted)
    return draft.id


async def test_an_error_is_read_back_in_any_language_with_its_english_unchanged(
    store: Store,
) -> None:
    rid = await accepted(store)
    assert await store.deliveries.start_attempt(rid, "sanctions") is not None
    error = not_sent(t("the game backend is unavailable: {message}", message=UPSTREAM))
    await store.deliveries.retry_later(rid, "sanctions", at=0.0, error=error)

    row = await store.deliveries.get(rid, "sanctions")
    assert row is not None and isinstance(row.last_error, Text)
    assert row.last_error == f"not sent: the game backend is unavailable: {UPSTREAM}"
    assert localize(row.last_error, "fr") == (
        f"non envoyé : le serveur du jeu est indisponible : {UPSTREAM}")
    [entry] = [e for e in await store.audit.for_report(rid)
               if e.action == "delivery.retry_scheduled"]
    assert entry.details["error"] == str(error)
    assert entry.details["error_words"]["id"] == "not sent: {detail}"


async def test_a_confirmed_resend_keeps_the_earlier_error_as_a_message(store: Store) -> None:
    rid = await accepted(store)
    assert await store.deliveries.start_attempt(rid, "sanctions") is not None
    earlier = may_have_landed(UPSTREAM)
    await store.deliveries.finish(rid, "sanctions", status="failed", error=earlier)
    assert await store.deliveries.requeue_failed(rid, "sanctions", actor_id=1,
                                                 confirm_resend=True)

    row = await store.deliveries.get(rid, "sanctions")
    assert row is not None and row.last_error == RESEND_CONFIRMED + str(earlier)
    assert localize(row.last_error, "de") == (
        "möglicherweise angekommen: ein Moderator hat das erneute Senden bestätigt: "
        f"möglicherweise angekommen: {UPSTREAM}")


async def test_plain_text_and_rows_from_before_the_migration_read_as_written(
    store_location: Path | str,
) -> None:
    db = await Database.open(store_location, migrate=False)
    try:
        every = bundled_migrations(db.migrations_folder)
        [words] = [m for m in every if m.name.endswith("_delivery_error_words.sql")]
        await db.migrate([m for m in every if m.version < words.version])
        store = Store(db)
        rid = await accepted(store)
        before = "not sent: the game backend answered: written by an older Warden"
        await db.write(lambda conn: conn.execute(
            "UPDATE deliveries SET status = 'failed', last_error = ? WHERE report_id = ?",
            (before, rid)))
        await db.migrate()

        row = await store.deliveries.get(rid, "sanctions")
        assert row is not None and row.last_error == before
        assert not isinstance(row.last_error, Text)
        assert localize(row.last_error, "fr") == before
        # A plain string (a destination that words no message) is stored as it is.
        await store.deliveries.requeue_failed(rid, "sanctions", actor_id=1)
        assert await store.deliveries.start_attempt(rid, "sanctions") is not None
        await store.deliveries.finish(rid, "sanctions", status="failed", error="plain")
        row = await store.deliveries.get(rid, "sanctions")
        assert row is not None and row.last_error == "plain"
        assert not isinstance(row.last_error, Text)
        [entry] = [e for e in await store.audit.for_report(rid) if e.action == "delivery.failed"]
        assert "error_words" not in entry.details
    finally:
        await db.close()
