"""Everything Warden keeps: SQLite or PostgreSQL; all SQL lives in this package."""

from __future__ import annotations

from bot.store.audit import AuditStore
from bot.store.blocks import BlockStore
from bot.store.cases import CaseStore
from bot.store.database import Database, DatabaseError
from bot.store.deliveries import DeliveryStore, Lease, this_process
from bot.store.guilds import GuildStore
from bot.store.kv import KeyValueStore
from bot.store.links import LinkStore
from bot.store.notices import NoticeStore
from bot.store.oauth_states import OAuthStateStore
from bot.store.prefs import MemberLocaleStore, MemberPrefsStore
from bot.store.report_views import ReportViews
from bot.store.reports import ReportStore

__all__ = ["Database", "DatabaseError", "Lease", "Store", "this_process"]


class Store:
    """The repositories over one database, handed to services."""

    def __init__(self, db: Database, *, lease: Lease | None = None) -> None:
        self.db = db
        self.audit = AuditStore(db)
        self.guilds = GuildStore(db)
        self.kv = KeyValueStore(db)
        self.links = LinkStore(db)
        self.oauth_states = OAuthStateStore(db)
        self.reports = ReportStore(db)
        self.cases = CaseStore(db)
        self.blocks = BlockStore(db)
        self.report_views = ReportViews(db)
        self.deliveries = DeliveryStore(db, lease)
        self.prefs = MemberPrefsStore(db)
        self.locales = MemberLocaleStore(db)
        self.notices = NoticeStore(db)
