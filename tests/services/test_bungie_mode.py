"""The learned Bungie report mode is cached per process: hand-off for good once learned,
"direct" only for ``DIRECT_RECHECK_SECONDS`` (another process may learn hand-off)."""

from __future__ import annotations

from pathlib import Path

from bot.services.delivery.bungie_mode import (
    BUNGIE_MODE_KEY,
    DIRECT_RECHECK_SECONDS,
    BungieMode,
)
from bot.settings import BungieReportMode, Settings
from bot.store import Database, Store


async def test_direct_is_read_again_after_the_recheck_and_hand_off_is_kept(
        tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "warden.db")
    store = Store(db)
    now = [1000.0]
    settings = Settings(bungie_report_mode=BungieReportMode.AUTO)
    mine = BungieMode(store, settings, linking=True, clock=lambda: now[0])
    other = BungieMode(store, settings, linking=True, clock=lambda: now[0])
    assert await mine.current() is BungieReportMode.DIRECT

    await other.learn_handoff()  # another process hears 2108 and remembers it
    assert await other.current() is BungieReportMode.HANDOFF
    assert await mine.current() is BungieReportMode.DIRECT  # within the recheck
    now[0] += DIRECT_RECHECK_SECONDS
    assert await mine.current() is BungieReportMode.HANDOFF

    await store.kv.set(BUNGIE_MODE_KEY, None)  # nothing unlearns it: not read again
    now[0] += 10 * DIRECT_RECHECK_SECONDS
    assert await mine.current() is BungieReportMode.HANDOFF
    await db.close()
