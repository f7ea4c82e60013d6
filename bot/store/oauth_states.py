"""One-time secrets of the linking flow: the start link sent by DM and the OAuth ``state``.

Only a SHA-256 hash of each secret is stored, so a copy of the database cannot be
used to finish someone's sign-in. A secret is consumed with ``DELETE ... RETURNING``:
of two requests racing with the same secret, exactly one gets the row.
"""

from __future__ import annotations

import enum
import hashlib
import time
from dataclasses import dataclass, field

from bot.domain import Provider
from bot.store.database import Conn, Database, Row


class SecretKind(enum.StrEnum):
    START = "start"
    """The single-use link sent by DM; opening it shows the confirmation page."""
    CONFIRM = "confirm"
    """The confirmation page's form token (CSRF): only its POST, from the browser whose
    cookie it is bound to, goes on to the provider."""
    STATE = "state"
    """The OAuth ``state`` sent to the provider and expected back at the callback."""


class ConsumeFailure(enum.StrEnum):
    UNKNOWN = "unknown"
    """Never issued, already used, or replaced by a newer one."""
    EXPIRED = "expired"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class OAuthSecret:
    kind: SecretKind
    discord_user_id: int
    provider: Provider
    platform: str | None
    pkce_verifier: str | None = field(repr=False)
    browser_hash: str | None = field(repr=False)
    created_at: float
    expires_at: float
    discord_name: str | None = None
    """How the member is named on Discord, shown on the confirmation page."""

    @classmethod
    def from_row(cls, row: Row) -> OAuthSecret:
        return cls(
            kind=SecretKind(row["kind"]),
            discord_user_id=row["discord_user_id"],
            provider=Provider(row["provider"]),
            platform=row["platform"],
            pkce_verifier=row["pkce_verifier"],
            browser_hash=row["browser_hash"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            discord_name=row["discord_name"],
        )


class OAuthStateStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        kind: SecretKind,
        secret: str,
        *,
        discord_user_id: int,
        provider: Provider,
        ttl: float,
        platform: str | None = None,
        pkce_verifier: str | None = None,
        browser_hash: str | None = None,
        discord_name: str | None = None,
        replace_previous: bool = False,
        now: float | None = None,
    ) -> OAuthSecret:
        """Store ``secret`` (hashed) for ``ttl`` seconds; expired secrets are purged on the way.

        ``replace_previous`` drops the member's other secrets of the same kind and
        provider, so only the newest start link works.
        """
        at = time.time() if now is None else now
        secret_hash = hash_secret(secret)

        def store(conn: Conn) -> None:
            conn.execute("DELETE FROM oauth_states WHERE expires_at <= ?", (at,))
            if replace_previous:
                conn.execute(
                    "DELETE FROM oauth_states WHERE kind = ? AND discord_user_id = ?"
                    " AND provider = ?",
                    (kind.value, discord_user_id, provider.value),
                )
            conn.execute(
                "INSERT INTO oauth_states (secret_hash, kind, discord_user_id, provider, platform,"
                " pkce_verifier, browser_hash, created_at, expires_at, discord_name)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    secret_hash,
                    kind.value,
                    discord_user_id,
                    provider.value,
                    platform,
                    pkce_verifier,
                    browser_hash,
                    at,
                    at + ttl,
                    discord_name,
                ),
            )

        await self._db.write(store)
        return OAuthSecret(
            kind=kind,
            discord_user_id=discord_user_id,
            provider=provider,
            platform=platform,
            pkce_verifier=pkce_verifier,
            browser_hash=browser_hash,
            created_at=at,
            expires_at=at + ttl,
            discord_name=discord_name,
        )

    async def consume(
        self, kind: SecretKind, secret: str, *, now: float | None = None
    ) -> OAuthSecret | ConsumeFailure:
        """Take ``secret`` out of the store: the row on first use, else why not.

        An expired row is deleted too, so it can never be used later either.
        """
        at = time.time() if now is None else now
        secret_hash = hash_secret(secret)

        def take(conn: Conn) -> OAuthSecret | None:
            rows = conn.execute(
                "DELETE FROM oauth_states WHERE secret_hash = ? AND kind = ? RETURNING *",
                (secret_hash, kind.value),
            ).fetchall()
            return OAuthSecret.from_row(rows[0]) if rows else None

        found = await self._db.write(take)
        if found is None:
            return ConsumeFailure.UNKNOWN
        if found.expires_at <= at:
            return ConsumeFailure.EXPIRED
        return found

    async def purge_expired(self, *, now: float | None = None) -> int:
        at = time.time() if now is None else now
        return await self._db.execute("DELETE FROM oauth_states WHERE expires_at <= ?", (at,))

    async def count(self) -> int:
        return int(await self._db.fetch_value("SELECT COUNT(*) FROM oauth_states") or 0)
