"""The throughput floors: what one Python process does with no Warden in the way.

    python -m bench.floors sqlite --db PATH --reports N
    python -m bench.floors post --jobs JOBS.json --concurrency C --client shared|per-worker

Each prints one JSON line, ``{"floor": ..., "reports": N, "seconds": S}``.

``sqlite``: a plain aiosqlite loop over a database with Warden's schema and pragmas
writing, per report, what Warden writes in the same transactions (auto review mode,
both destinations): the draft; acceptance (its case, status, two delivery rows, audit
row); the review post (its ids, audit row);
two delivery claims; two delivery results (each with an audit row). The only reads
are the ones those writes need: the next report number and the audit chain's head.

``post``: the Bungie and sanctions report calls Warden makes for the same reports,
same bodies and tokens, from ``concurrency`` workers, each posting both calls of a
report then taking the next; with one shared httpx client or one per worker.
"""

from __future__ import annotations

if __package__ in (None, ""):  # run as a file: make the repository importable
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiosqlite
import httpx

from bot.store.database import bundled_migrations

GUILD = 1574948033731362816
_REPORT_COLUMNS = (
    "guild_id, channel_id, reporter_id, reason, target_key, description, target_discord_id,"
    " target_bungie_membership_id, target_bungie_membership_type, target_bungie_name,"
    " target_character_id, target_player_uuid, target_game_name,"
    " reporter_destiny_membership_id, reporter_player_uuid, activity_id, activity_mode,"
    " activity_hash, activity_period, match_id, evidence, number, status, created_at,"
    " updated_at"
)


# ---- sqlite --------------------------------------------------------------------------

async def _open(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                   "busy_timeout=5000", "secure_delete=ON"):
        await conn.execute(f"PRAGMA {pragma}")
    return conn


async def _audit(conn: aiosqlite.Connection, action: str, report_id: int,
                 details: dict[str, Any], now: float) -> None:
    async with conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1") as cur:
        last = await cur.fetchone()
    new_id = 1 if last is None else int(last[0]) + 1
    prev = "0" * 64 if last is None else str(last[1])
    text = json.dumps(details, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(
        json.dumps([new_id, repr(now), GUILD, None, action, report_id, text, prev],
                   separators=(",", ":")).encode()).hexdigest()
    await conn.execute(
        "INSERT INTO audit_log (id, at, guild_id, actor_id, action, report_id, details,"
        " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (new_id, now, GUILD, None, action, report_id, text, prev, digest))


async def _tx(conn: aiosqlite.Connection) -> None:
    await conn.execute("BEGIN IMMEDIATE")


async def one_report(conn: aiosqlite.Connection, index: int) -> None:
    now = time.time()
    await _tx(conn)
    async with conn.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM reports WHERE guild_id = ?",
                            (GUILD,)) as cur:
        row = await cur.fetchone()
    number = int(row[0]) if row else 1
    cur = await conn.execute(
        f"INSERT INTO reports ({_REPORT_COLUMNS}) VALUES"  # noqa: S608 - constant columns
        " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'draft', ?, ?)",
        (GUILD, 1574948033731362817, 1574948033731400000 + index, "cheating",
         f"bungie:{4611686018400000000 + index}", None, 1574948033731300000 + index % 20,
         4611686018400000000 + index, 3, f"Guardian{index % 20}#1042",
         2305843009300000000 + index, "0b7e3c1e-5a9c-4a53-9a4e-6f1f2b3c4d5e",
         f"Guardian{index % 20}InGame", 4611686018400100000 + index,
         "1c2d3e4f-5a6b-4c7d-8e9f-a0b1c2d3e4f5", 14000000000 + index, 84, 588019350,
         "2026-01-01T00:00:00+00:00", None, "[]", number, now, now))
    report_id = int(cur.lastrowid or 0)
    await conn.execute("COMMIT")

    await _tx(conn)  # acceptance
    cur = await conn.execute(
        "INSERT INTO cases (guild_id, lead_report_id, target_key, activity_id, status,"
        " created_at, updated_at) VALUES (1, ?, 'bungie:1', ?, 'open', ?, ?)",
        (report_id, 14000000000 + index, now, now))
    case_id = int(cur.lastrowid or 0)
    await conn.execute("UPDATE reports SET status = 'accepted', accepted_at = ?, updated_at = ?,"
                       " case_id = ? WHERE id = ?", (now, now, case_id, report_id))
    await conn.executemany(
        "INSERT INTO deliveries (report_id, destination, status, next_attempt_at, created_at,"
        " updated_at) VALUES (?, ?, 'pending', ?, ?, ?)",
        [(report_id, dest, now, now, now) for dest in ("bungie", "sanctions")])
    await _audit(conn, "report.accepted", report_id,
                 {"number": number, "reason": "cheating", "target": "bungie:1",
                  "activity_id": 14000000000 + index,
                  "deliveries": {"bungie": "pending", "sanctions": "pending"}}, now)
    await conn.execute("COMMIT")

    await _tx(conn)  # the review post
    await conn.execute("UPDATE reports SET review_channel_id = ?, review_message_id = ?"
                       " WHERE id = ?", (1574948033731362818, 1574948033800000000 + index,
                                         report_id))
    await _audit(conn, "review.posted", report_id, {"channel_id": 1, "message_id": 2,
                                                    "evidence": [], "again": False}, now)
    await conn.execute("COMMIT")

    for dest in ("bungie", "sanctions"):  # each delivery claimed
        await _tx(conn)
        await conn.execute(
            "UPDATE deliveries SET status = 'in_flight', attempts = attempts + 1, updated_at = ?"
            " WHERE report_id = ? AND destination = ? AND status = 'pending'",
            (now, report_id, dest))
        await conn.execute("COMMIT")
    for dest in ("bungie", "sanctions"):  # ... and its result recorded
        await _tx(conn)
        await conn.execute(
            "UPDATE deliveries SET status = 'sent', upstream_id = ?, last_error = NULL,"
            " updated_at = ?, completed_at = ? WHERE report_id = ? AND destination = ?",
            (None if dest == "bungie" else "9f0e1d2c-3b4a-5968-7a6b-5c4d3e2f1a0b", now, now,
             report_id, dest))
        await _audit(conn, "delivery.sent", report_id, {"destination": dest,
                                                        "upstream_id": None, "error": None},
                     now)
        await conn.execute("COMMIT")


async def sqlite_floor(path: Path, reports: int) -> float:
    for old in path.parent.glob(path.name + "*"):
        old.unlink()
    with sqlite3.connect(path) as setup:
        for migration in bundled_migrations():
            setup.executescript(migration.sql)
    conn = await _open(path)
    try:
        started = time.perf_counter()
        for index in range(reports):
            await one_report(conn, index)
        return time.perf_counter() - started
    finally:
        await conn.close()


# ---- POST ---------------------------------------------------------------------------

async def post_floor(jobs: list[dict[str, Any]], api_key: str, concurrency: int,
                     per_worker: bool) -> float:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    shared = None if per_worker else httpx.AsyncClient(timeout=30.0)

    async def worker() -> None:
        client = httpx.AsyncClient(timeout=30.0) if shared is None else shared
        try:
            while not queue.empty():
                job = queue.get_nowait()
                bungie = await client.post(job["bungie_url"], json=job["bungie_body"], headers={
                    "X-API-Key": api_key, "Authorization": f"Bearer {job['bungie_token']}"})
                if bungie.status_code != 200 or bungie.json()["ErrorCode"] != 1:
                    raise RuntimeError(f"Bungie stand-in refused: {bungie.text[:300]}")
                sanctions = await client.post(job["sanctions_url"], json=job["sanctions_body"],
                                              headers={"Authorization":
                                                       f"Bearer {job['sanctions_token']}"})
                if sanctions.status_code != 200:
                    raise RuntimeError(f"sanctions stand-in refused: {sanctions.text[:300]}")
        finally:
            if shared is None:
                await client.aclose()

    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started
    finally:
        if shared is not None:
            await shared.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floors", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="floor", required=True)
    sq = sub.add_parser("sqlite")
    sq.add_argument("--db", type=Path, required=True)
    sq.add_argument("--reports", type=int, required=True)
    post = sub.add_parser("post")
    post.add_argument("--jobs", type=Path, required=True)
    post.add_argument("--concurrency", type=int, default=8)
    post.add_argument("--client", choices=["shared", "per-worker"], default="shared")
    args = parser.parse_args(argv)
    if args.floor == "sqlite":
        seconds = asyncio.run(sqlite_floor(args.db, args.reports))
        result = {"floor": "sqlite", "reports": args.reports, "seconds": seconds}
    else:
        data = json.loads(args.jobs.read_text())
        seconds = asyncio.run(post_floor(data["jobs"], data["api_key"], args.concurrency,
                                         args.client == "per-worker"))
        result = {"floor": f"post-{args.client}", "reports": len(data["jobs"]),
                  "seconds": seconds}
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
