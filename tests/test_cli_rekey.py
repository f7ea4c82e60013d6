"""``python -m bot rekey``: key rotation for stored tokens, run as the operator would."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.crypto import TokenBox, generate_key
from bot.domain import Provider
from bot.store import Database, Store
from bot.store.links import NewLink, SealedTokens
from tests.test_cli import run_cli

ACCESS, REFRESH = "plain-access-token-123", "plain-refresh-token-456"


def seed(path: Path, key: str) -> None:
    async def go() -> None:
        db = await Database.open(path)
        box = TokenBox([key])
        tokens = SealedTokens(box.seal(ACCESS), box.seal(REFRESH), 2.0e9, 3.0e9)
        await Store(db).links.upsert(
            NewLink(discord_user_id=1, provider=Provider.BUNGIE, account_id="a",
                    display_name="G#1", tokens=tokens))
        await db.close()

    asyncio.run(go())


def sealed(path: Path) -> tuple[bytes, bytes]:
    async def go() -> tuple[bytes, bytes]:
        db = await Database.open(path, migrate=False)
        link = await Store(db).links.get(1, Provider.BUNGIE)
        await db.close()
        assert link is not None and link.tokens is not None
        assert link.tokens.refresh_token is not None
        return link.tokens.access_token, link.tokens.refresh_token

    return asyncio.run(go())


def test_rekey_moves_every_token_to_the_first_key(tmp_path: Path) -> None:
    old, new = generate_key(), generate_key()
    db = tmp_path / "warden.db"
    seed(db, old)
    result = run_cli("rekey", cwd=tmp_path,
                     env={"DATABASE_PATH": str(db), "TOKEN_ENCRYPTION_KEY": f"{new},{old}"})
    assert result.returncode == 0, result.stderr
    assert "re-encrypted 2 stored token(s)" in result.stdout
    assert old not in result.stdout + result.stderr and new not in result.stdout + result.stderr
    access, refresh = sealed(db)
    only_new = TokenBox([new])
    assert (only_new.open(access), only_new.open(refresh)) == (ACCESS, REFRESH)


def test_rekey_without_the_old_key_changes_nothing_and_says_what_to_do(tmp_path: Path) -> None:
    old = generate_key()
    db = tmp_path / "warden.db"
    seed(db, old)
    before = sealed(db)
    result = run_cli("rekey", cwd=tmp_path,
                     env={"DATABASE_PATH": str(db), "TOKEN_ENCRYPTION_KEY": generate_key()})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "add the old key" in result.stderr
    assert "Traceback" not in result.stderr
    assert sealed(db) == before


def test_rekey_needs_a_usable_key(tmp_path: Path) -> None:
    missing = run_cli("rekey", cwd=tmp_path)
    assert missing.returncode == 2 and "TOKEN_ENCRYPTION_KEY is not set" in missing.stderr
    bad = run_cli("rekey", cwd=tmp_path, env={"TOKEN_ENCRYPTION_KEY": "not-a-key"})
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert "not a valid Fernet key" in bad.stderr and "not-a-key" not in bad.stderr
