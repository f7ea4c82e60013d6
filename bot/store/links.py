"""Account links: the Bungie.net and game accounts members proved are theirs.

Tokens come in and go out sealed (``bot.crypto.TokenBox`` output); nothing here
sees a plaintext token. Every change that matters is audited in the transaction
that makes it, and token updates compare-and-swap on the stored refresh token so
a refresh that raced a relink or an unlink never writes stale tokens back.
"""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.domain import Provider
from bot.store import audit
from bot.store.database import Conn, Database, Row, hold_lock

SameSecret = Callable[[bytes, bytes], bool]
"""Whether two sealed tokens hold the same secret (they differ after a ``rekey``)."""


def _still_holds(conn: Conn, discord_user_id: int, provider: Provider,
                 expected: bytes | None, same_secret: SameSecret | None, *,
                 active_only: bool) -> bool:
    """Compare-and-swap guard: the link still holds the ``expected`` refresh token.
    Runs inside the write transaction, under the link's lock (across processes on
    PostgreSQL), so nothing changes between check and update."""
    hold_lock(conn, "account link", discord_user_id, provider.value)
    row = conn.execute(
        "SELECT refresh_token, status FROM account_links WHERE discord_user_id = ?"
        " AND provider = ?", (discord_user_id, provider.value),
    ).fetchone()
    if row is None or (active_only and row["status"] != "active"):
        return False
    current = None if row["refresh_token"] is None else bytes(row["refresh_token"])
    if current is None or expected is None:
        return current is expected
    return current == expected or (same_secret is not None and same_secret(current, expected))


class LinkStatus(enum.StrEnum):
    ACTIVE = "active"
    BROKEN = "broken"
    """The grant can no longer be refreshed; the member has to link again."""


@dataclass(frozen=True)
class SealedTokens:
    access_token: bytes = field(repr=False)
    refresh_token: bytes | None = field(repr=False)
    access_expires_at: float | None
    refresh_expires_at: float | None


@dataclass(frozen=True)
class NewLink:
    discord_user_id: int
    provider: Provider
    account_id: str
    display_name: str | None
    tokens: SealedTokens
    platform: str | None = None
    destiny_membership_id: int | None = None
    destiny_membership_type: int | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountLink:
    discord_user_id: int
    provider: Provider
    account_id: str
    display_name: str | None
    platform: str | None
    destiny_membership_id: int | None
    destiny_membership_type: int | None
    details: dict[str, Any]
    tokens: SealedTokens | None
    """None once the link broke: its dead tokens are erased."""
    status: LinkStatus
    status_reason: str | None
    linked_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: Row) -> AccountLink:
        tokens = None
        if row["access_token"] is not None:
            tokens = SealedTokens(
                access_token=bytes(row["access_token"]),
                refresh_token=None if row["refresh_token"] is None else bytes(row["refresh_token"]),
                access_expires_at=row["access_expires_at"],
                refresh_expires_at=row["refresh_expires_at"],
            )
        return cls(
            discord_user_id=row["discord_user_id"],
            provider=Provider(row["provider"]),
            account_id=row["account_id"],
            display_name=row["display_name"],
            platform=row["platform"],
            destiny_membership_id=row["destiny_membership_id"],
            destiny_membership_type=row["destiny_membership_type"],
            details=json.loads(row["details"] or "{}"),
            tokens=tokens,
            status=LinkStatus(row["status"]),
            status_reason=row["status_reason"],
            linked_at=row["linked_at"],
            updated_at=row["updated_at"],
        )


class AccountTaken(Exception):
    """The account is already linked to another Discord member."""


@dataclass(frozen=True)
class Upserted:
    link: AccountLink
    previous: AccountLink | None
    """What the member had linked before for this provider, if anything (a relink)."""


_UPSERT_SQL = (
    "INSERT INTO account_links (discord_user_id, provider, account_id, display_name,"
    " platform, destiny_membership_id, destiny_membership_type, details,"
    " access_token, refresh_token, access_expires_at, refresh_expires_at,"
    " status, status_reason, linked_at, updated_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', NULL, ?, ?)"
    " ON CONFLICT (discord_user_id, provider) DO UPDATE SET"
    " account_id = excluded.account_id, display_name = excluded.display_name,"
    " platform = excluded.platform,"
    " destiny_membership_id = excluded.destiny_membership_id,"
    " destiny_membership_type = excluded.destiny_membership_type,"
    " details = excluded.details, access_token = excluded.access_token,"
    " refresh_token = excluded.refresh_token,"
    " access_expires_at = excluded.access_expires_at,"
    " refresh_expires_at = excluded.refresh_expires_at,"
    " status = 'active', status_reason = NULL,"
    " linked_at = excluded.linked_at, updated_at = excluded.updated_at"
    " RETURNING *"
)


class LinkStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, discord_user_id: int, provider: Provider) -> AccountLink | None:
        row = await self._db.fetch_one(
            "SELECT * FROM account_links WHERE discord_user_id = ? AND provider = ?",
            (discord_user_id, provider.value),
        )
        return None if row is None else AccountLink.from_row(row)

    async def list_for(self, discord_user_id: int) -> list[AccountLink]:
        rows = await self._db.fetch_all(
            "SELECT * FROM account_links WHERE discord_user_id = ? ORDER BY provider",
            (discord_user_id,),
        )
        return [AccountLink.from_row(r) for r in rows]

    async def find_by_account(self, provider: Provider, account_id: str) -> AccountLink | None:
        row = await self._db.fetch_one(
            "SELECT * FROM account_links WHERE provider = ? AND account_id = ?",
            (provider.value, account_id),
        )
        return None if row is None else AccountLink.from_row(row)

    async def find_by_destiny_membership(self, membership_id: int) -> AccountLink | None:
        """The Bungie link whose primary Destiny membership this is (report targets)."""
        row = await self._db.fetch_one(
            "SELECT * FROM account_links WHERE provider = 'bungie'"
            " AND destiny_membership_id = ?",
            (membership_id,),
        )
        return None if row is None else AccountLink.from_row(row)

    async def upsert(self, new: NewLink, *, now: float | None = None) -> Upserted:
        """Link (or relink) the member's account, replacing any earlier link and its tokens.

        Raises ``AccountTaken`` if another member already linked the same account.
        """
        at = time.time() if now is None else now
        values = (
            new.discord_user_id,
            new.provider.value,
            new.account_id,
            new.display_name,
            new.platform,
            new.destiny_membership_id,
            new.destiny_membership_type,
            json.dumps(new.details, sort_keys=True),
            new.tokens.access_token,
            new.tokens.refresh_token,
            new.tokens.access_expires_at,
            new.tokens.refresh_expires_at,
            at,
            at,
        )

        def upsert(conn: Conn) -> Upserted:
            taken = conn.execute(
                "SELECT discord_user_id FROM account_links"
                " WHERE provider = ? AND account_id = ? AND discord_user_id != ?",
                (new.provider.value, new.account_id, new.discord_user_id),
            ).fetchall()
            if taken:
                raise AccountTaken(new.account_id)  # rolls back (nothing written yet)
            old_rows = conn.execute(
                "SELECT * FROM account_links WHERE discord_user_id = ? AND provider = ?",
                (new.discord_user_id, new.provider.value),
            ).fetchall()
            previous = AccountLink.from_row(old_rows[0]) if old_rows else None
            rows = conn.execute(_UPSERT_SQL, values).fetchall()
            details: dict[str, Any] = {
                "provider": new.provider.value,
                "account_id": new.account_id,
                "display_name": new.display_name,
            }
            if new.platform:
                details["platform"] = new.platform
            if previous is not None:
                details["previous_account_id"] = previous.account_id
                details["previous_status"] = previous.status.value
            audit.append(
                conn,
                "link.relinked" if previous is not None else "link.created",
                actor_id=new.discord_user_id,
                details=details,
                at=at,
            )
            # An upsert with RETURNING always yields its row.
            return Upserted(AccountLink.from_row(rows[0]), previous)

        return await self._db.write(upsert)

    async def delete(
        self, discord_user_id: int, provider: Provider, *, now: float | None = None
    ) -> AccountLink | None:
        """Forget the link and its tokens at once; returns what was removed."""
        at = time.time() if now is None else now

        def delete(conn: Conn) -> AccountLink | None:
            rows = conn.execute(
                "DELETE FROM account_links WHERE discord_user_id = ? AND provider = ? RETURNING *",
                (discord_user_id, provider.value),
            ).fetchall()
            if not rows:
                return None
            removed = AccountLink.from_row(rows[0])
            audit.append(
                conn,
                "link.removed",
                actor_id=discord_user_id,
                details={"provider": provider.value, "account_id": removed.account_id},
                at=at,
            )
            return removed

        return await self._db.write(delete)

    async def replace_tokens(
        self,
        discord_user_id: int,
        provider: Provider,
        *,
        expected_refresh_token: bytes | None,
        tokens: SealedTokens,
        now: float | None = None,
        same_secret: SameSecret | None = None,
    ) -> bool:
        """Store refreshed tokens if the link still holds ``expected_refresh_token``.

        False means the link changed meanwhile (relinked, unlinked, broken): the
        caller must not use what it refreshed as if it were stored. ``same_secret``
        tells whether two ciphertexts hold the same token, so a ``rekey`` that
        re-encrypted the link meanwhile does not count as a change: the provider has
        already spent the old refresh token, and dropping its successor would break
        the link at its next refresh.
        """
        at = time.time() if now is None else now

        def replace(conn: Conn) -> bool:
            if not _still_holds(conn, discord_user_id, provider, expected_refresh_token,
                                same_secret, active_only=True):
                return False
            conn.execute(
                "UPDATE account_links SET access_token = ?, refresh_token = ?,"
                " access_expires_at = ?, refresh_expires_at = ?, updated_at = ?"
                " WHERE discord_user_id = ? AND provider = ?",
                (tokens.access_token, tokens.refresh_token, tokens.access_expires_at,
                 tokens.refresh_expires_at, at, discord_user_id, provider.value),
            )
            return True

        return await self._db.write(replace)

    async def claim_refresh(
        self, discord_user_id: int, provider: Provider, *, now: float, seconds: float
    ) -> float | None:
        """Claim the right to refresh the link's token until ``now + seconds``, unless
        another caller (any process) holds an unexpired claim; the claim's end, or None."""
        until = now + seconds
        claimed = await self._db.execute(
            "UPDATE account_links SET refreshing_until = ? WHERE discord_user_id = ?"
            " AND provider = ? AND status = 'active'"
            " AND (refreshing_until IS NULL OR refreshing_until <= ?)",
            (until, discord_user_id, provider.value, now),
        )
        return until if claimed == 1 else None

    async def release_refresh(self, discord_user_id: int, provider: Provider,
                              claim: float) -> None:
        """End a claim from ``claim_refresh`` (if it is still this one)."""
        await self._db.execute(
            "UPDATE account_links SET refreshing_until = NULL WHERE discord_user_id = ?"
            " AND provider = ? AND refreshing_until = ?",
            (discord_user_id, provider.value, claim),
        )

    async def mark_broken(
        self,
        discord_user_id: int,
        provider: Provider,
        *,
        reason: str,
        expected_refresh_token: bytes | None,
        now: float | None = None,
        same_secret: SameSecret | None = None,
    ) -> bool:
        """Mark the link unusable and erase its dead tokens, auditing the refresh failure.

        Only if it still holds ``expected_refresh_token`` (re-encrypted or not, see
        ``replace_tokens``): a relink that landed meanwhile is left alone.
        """
        at = time.time() if now is None else now

        def mark(conn: Conn) -> bool:
            if not _still_holds(conn, discord_user_id, provider, expected_refresh_token,
                                same_secret, active_only=False):
                return False
            conn.execute(
                "UPDATE account_links SET status = 'broken', status_reason = ?,"
                " access_token = NULL, refresh_token = NULL, access_expires_at = NULL,"
                " refresh_expires_at = NULL, updated_at = ?"
                " WHERE discord_user_id = ? AND provider = ?",
                (reason, at, discord_user_id, provider.value),
            )
            audit.append(
                conn,
                "link.refresh_failed",
                actor_id=discord_user_id,
                details={"provider": provider.value, "reason": reason, "link_broken": True},
                at=at,
            )
            return True

        return await self._db.write(mark)

    async def record_refresh_failure(
        self, discord_user_id: int, provider: Provider, *, reason: str, now: float | None = None
    ) -> None:
        """Audit a refresh that failed for a passing reason (the link stays usable)."""
        at = time.time() if now is None else now
        await self._db.write(lambda conn: audit.append(
            conn,
            "link.refresh_failed",
            actor_id=discord_user_id,
            details={"provider": provider.value, "reason": reason, "link_broken": False},
            at=at,
        ))

    async def rekey(self, rotate: Callable[[bytes], bytes], *, now: float | None = None) -> int:
        """Re-seal every stored token with ``rotate``, all or nothing; returns the count.

        If ``rotate`` raises for any token the whole transaction is rolled back.
        ``rotate`` runs on the database's writer thread, inside the transaction.
        """
        at = time.time() if now is None else now

        def rekey(conn: Conn) -> int:
            count = 0
            rows = conn.execute(
                "SELECT discord_user_id, provider, access_token, refresh_token FROM account_links"
                " WHERE access_token IS NOT NULL OR refresh_token IS NOT NULL"
            ).fetchall()
            for row in rows:
                sealed = [row["access_token"], row["refresh_token"]]
                fresh = [None if s is None else rotate(bytes(s)) for s in sealed]
                count += sum(1 for s in sealed if s is not None)
                conn.execute(
                    "UPDATE account_links SET access_token = ?, refresh_token = ?"
                    " WHERE discord_user_id = ? AND provider = ?",
                    (fresh[0], fresh[1], row["discord_user_id"], row["provider"]),
                )
            audit.append(
                conn, "tokens.rekeyed", details={"links": len(rows), "tokens": count}, at=at
            )
            return count

        return await self._db.write(rekey)
