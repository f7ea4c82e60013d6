"""The audit chain's head, kept outside the database so that rows cut from the end show.

The hash chain proves that no row was edited, and none removed before the last one, but
a chain cut short is still a valid chain. Its head (row count and last hash), written
down somewhere else (a file from ``audit anchor``, a post in a server's log channel), is
what ``audit verify --anchor`` holds the chain to: it must still have that row, with
that hash.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.store.audit import AuditStore, ChainCheck


class AnchorError(ValueError):
    """An anchor file that cannot be read; the message is one line for the operator."""


@dataclass(frozen=True)
class ChainHead:
    rows: int
    hash: str
    at: float

    @classmethod
    def of(cls, check: ChainCheck, *, at: float | None = None) -> ChainHead:
        return cls(check.rows_checked, check.head_hash, time.time() if at is None else at)

    @property
    def when(self) -> str:
        return datetime.fromtimestamp(self.at, UTC).strftime("%Y-%m-%d %H:%M UTC")

    def describe(self) -> str:
        return f"row {self.rows}, hash {self.hash}"

    def to_json(self) -> str:
        return json.dumps({"rows": self.rows, "hash": self.hash, "at": self.at}) + "\n"

    @classmethod
    def read(cls, path: Path) -> ChainHead:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise AnchorError(f"no anchor file at {path}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise AnchorError(f"{path} is not an anchor written by `audit anchor` "
                              f"({type(exc).__name__})") from None
        rows, digest, at = (data.get(k) for k in ("rows", "hash", "at")) if isinstance(
            data, dict) else (None, None, None)
        if (not isinstance(rows, int) or rows < 0 or not isinstance(digest, str)
                or len(digest) != 64 or not isinstance(at, int | float)):
            raise AnchorError(f"{path} is not an anchor written by `audit anchor` (it needs "
                              "rows, hash and at)")
        return cls(rows, digest.lower(), float(at))


async def anchor_problem(audit: AuditStore, check: ChainCheck, anchor: ChainHead) -> str | None:
    """None if the verified chain still holds the anchored head; else what is wrong."""
    if check.rows_checked < anchor.rows:
        return (f"audit chain has {check.rows_checked} row(s), fewer than the {anchor.rows} "
                f"anchored on {anchor.when}: rows were cut from its end")
    stored = (check.head_hash if check.rows_checked == anchor.rows
              else await audit.hash_of(anchor.rows))
    if stored != anchor.hash:
        return (f"audit row {anchor.rows} does not carry the hash anchored on {anchor.when}: "
                "the chain was rewritten from that row or earlier")
    return None
