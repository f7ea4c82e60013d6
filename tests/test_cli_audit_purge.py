"""``python -m bot audit verify|export`` and ``python -m bot purge``, run as real
subprocesses over a real SQLite file (and, for the review-post scrub, against the
Discord stand-in)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

import pytest

from bot.domain import Evidence, NewReport, ReportLimits
from bot.store import Database, Store
from bot.store.cases import CaseChange
from bot.store.reports import Accepted
from tests.review_rig import review_world
from tests.standins.discord import DiscordStandIn, Upload
from tests.test_cli import ROOT, run_cli

DAY = 86400.0
NO_LIMITS = ReportLimits(short_count=0, hour_count=0, day_count=0, target_cooldown_hours=0)


pytestmark = pytest.mark.usefixtures("isolated_env")


async def make_reports(db_path: Path, *created: float) -> list[int]:
    """Accepted reports created at the given times, each with a note; returns their ids."""
    db = await Database.open(db_path)
    store = Store(db)
    ids = []
    try:
        for i, at in enumerate(created):
            draft = await store.reports.create_draft(NewReport(
                guild_id=1, channel_id=2, reporter_id=3, reason="cheating",
                target_key=f"bungie:{i}", description=f"secret details {i}", activity_id=100 + i,
                evidence=(Evidence(kind="attachment", url=f"https://cdn/{i}.png",
                                   filename=f"{i}.png", size=10),),
            ), now=at)
            accepted = await store.reports.accept(draft.id, limits=NO_LIMITS, now=at,
                                                  deliveries=[("sanctions", "held")], actor_id=3)
            assert isinstance(accepted, Accepted)
            await store.reports.add_note(draft.id, author_id=9, kind="info_request",
                                         body=f"question {i}")
            await store.cases.change(accepted.report.case_id or 0, CaseChange(
                ("open",), "claimed", "case.claimed", {}, set_claimed_by=True, claimed_by=9),
                actor_id=9)
            ids.append(draft.id)
    finally:
        await db.close()
    return ids


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"DATABASE_PATH": str(tmp_path / "warden.db"), **extra}


async def test_audit_verify_names_the_first_edited_row(tmp_path: Path) -> None:
    await make_reports(tmp_path / "warden.db", time.time(), time.time())
    ok = run_cli("audit", "verify", cwd=tmp_path, env=env_for(tmp_path))
    assert ok.returncode == 0, ok.stderr
    assert "audit chain intact: 6 row(s) verified" in ok.stdout

    # Someone with file access drops the guard and rewrites history.
    with sqlite3.connect(tmp_path / "warden.db") as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE audit_log SET actor_id = 1 WHERE id = 3")
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET details = '{\"status\":\"dismissed\"}' WHERE id = 3")
    broken = run_cli("audit", "verify", cwd=tmp_path, env=env_for(tmp_path))
    assert broken.returncode == 2
    assert broken.stderr.count("\n") == 1
    assert "audit chain broken at row 3: content does not match its hash" in broken.stderr
    assert "2 row(s) before it verified" in broken.stderr


async def test_audit_verify_catches_a_deleted_row(tmp_path: Path) -> None:
    await make_reports(tmp_path / "warden.db", time.time())
    with sqlite3.connect(tmp_path / "warden.db") as conn:
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute("DELETE FROM audit_log WHERE id = 2")
    broken = run_cli("audit", "verify", cwd=tmp_path, env=env_for(tmp_path))
    assert broken.returncode == 2 and "broken at row 3: row 2 is missing" in broken.stderr


async def test_audit_export_writes_the_whole_trail(tmp_path: Path) -> None:
    await make_reports(tmp_path / "warden.db", time.time())
    result = run_cli("audit", "export", "--output", "trail.jsonl", cwd=tmp_path,
                     env=env_for(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "wrote 3 audit row(s) to trail.jsonl" in result.stdout
    rows = [json.loads(line) for line in (tmp_path / "trail.jsonl").read_text().splitlines()]
    with sqlite3.connect(tmp_path / "warden.db") as conn:
        stored = conn.execute("SELECT id, action, hash, prev_hash FROM audit_log ORDER BY id")
        assert [(r["id"], r["action"], r["hash"], r["prev_hash"]) for r in rows] == list(stored)
    assert [r["action"] for r in rows] == ["report.accepted", "report.info_request",
                                          "case.claimed"]


async def test_purge_blanks_expired_content_and_keeps_the_chain(tmp_path: Path) -> None:
    now = time.time()
    old, recent = await make_reports(tmp_path / "warden.db", now - 400 * DAY, now - 10 * DAY)
    env = env_for(tmp_path)

    dry = run_cli("purge", "--dry-run", cwd=tmp_path, env=env)
    assert dry.returncode == 0, dry.stderr
    assert "would purge the content of 1 report(s)" in dry.stdout and "kept 365 days" in dry.stdout

    result = run_cli("purge", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "purged the content of 1 report(s)" in result.stdout
    assert "audit chain intact" in result.stdout

    with sqlite3.connect(tmp_path / "warden.db") as conn:
        rows = dict(conn.execute("SELECT id, description FROM reports"))
        evidence = dict(conn.execute("SELECT id, evidence FROM reports"))
        notes = [r[0] for r in conn.execute("SELECT report_id FROM report_notes")]
        purges = conn.execute(
            "SELECT details FROM audit_log WHERE action = 'retention.purged'").fetchall()
    assert rows == {old: None, recent: "secret details 1"}
    assert evidence[old] == "[]" and "1.png" in evidence[recent]
    assert notes == [recent]
    assert [json.loads(p[0])["reports"] for p in purges] == [1]
    assert run_cli("audit", "verify", cwd=tmp_path, env=env).returncode == 0

    # A shorter retention for one run; a nonsense one is one line and exit 2.
    shorter = run_cli("purge", "--older-than-days", "5", cwd=tmp_path, env=env)
    assert "purged the content of 1 report(s)" in shorter.stdout
    bad = run_cli("purge", "--older-than-days", "0", cwd=tmp_path, env=env)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    missing = run_cli("purge", cwd=tmp_path, env={"DATABASE_PATH": str(tmp_path / "none.db")})
    assert missing.returncode == 2 and "no database at" in missing.stderr


async def run_cli_async(cwd: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """The CLI as a subprocess without blocking the event loop (the Discord stand-in
    keeps answering in this process meanwhile)."""
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(cwd), "PYTHONPATH": str(ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=cwd, env={**base, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_purge_scrubs_review_posts_and_their_evidence(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    clip = b"evidence bytes" * 50
    async with review_world(tmp_path, discord_standin) as w:
        await w.setup(channel=w.discord.guild.channel("staff-only"))
        original = await w.discord.post_user_message(
            "general", w.alice, "clip", attachments=[Upload("clip.png", clip, "image/png")])
        [att] = original.attachments
        report = await w.accept_report(
            at=time.time() - 400 * DAY,
            evidence=(Evidence(kind="attachment", url=att.url, filename="clip.png",
                               size=len(clip)),),
        )
        post = await w.review_post(report)
        assert [a.data for a in post.attachments] == [clip]
        assert "Aimbot all match" in post.text

    env = env_for(tmp_path, DISCORD_API_BASE_URL=discord_standin.api_base_url,
                  DISCORD_GATEWAY_URL=discord_standin.gateway_url)
    code, out, err = await run_cli_async(tmp_path, env, "purge")
    assert code == 2 and err.count("\n") == 1
    assert "1 review post(s) of purged reports still show their content" in err

    code, out, err = await run_cli_async(tmp_path, {**env, "DISCORD_TOKEN": "t" * 30}, "purge")
    assert code == 0, err
    assert "purged the content of 0 report(s)" in out  # the database was purged already
    assert "scrubbed 1 review post(s)" in out
    scrubbed = discord_standin.message(post.id)
    assert scrubbed.attachments == []
    assert "Aimbot all match" not in scrubbed.text
    assert "Content removed under the server's retention policy" in scrubbed.text
    assert "Report #1" in scrubbed.text  # the record of what happened stays

    code, out, err = await run_cli_async(tmp_path, {**env, "DISCORD_TOKEN": "t" * 30}, "purge")
    assert code == 0 and "scrubbed" not in out  # nothing left to do
    code, out, err = await run_cli_async(tmp_path, env, "audit", "verify")
    assert code == 0, err


async def more_audit_rows(db_path: Path, count: int) -> None:
    db = await Database.open(db_path)
    try:
        for _ in range(count):
            await Store(db).audit.record("settings.changed", guild_id=1, actor_id=9)
    finally:
        await db.close()


async def test_rows_cut_from_the_end_pass_verify_alone_but_fail_against_the_anchor(
    tmp_path: Path,
) -> None:
    await make_reports(tmp_path / "warden.db", time.time(), time.time())
    with sqlite3.connect(tmp_path / "warden.db") as conn:
        head = conn.execute("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    ok = run_cli("audit", "verify", cwd=tmp_path, env=env_for(tmp_path))
    assert ok.returncode == 0, ok.stderr
    assert f"head: row {head[0]}, hash {head[1]}" in ok.stdout

    written = run_cli("audit", "anchor", "--output", "head.json", cwd=tmp_path,
                      env=env_for(tmp_path))
    assert written.returncode == 0, written.stderr
    assert json.loads((tmp_path / "head.json").read_text())["rows"] == head[0] == 6
    held = run_cli("audit", "verify", "--anchor", "head.json", cwd=tmp_path,
                   env=env_for(tmp_path))
    assert held.returncode == 0, held.stderr
    assert "still holds the head anchored" in held.stdout

    # Later rows do not disturb the anchor; then someone cuts the last three rows.
    await more_audit_rows(tmp_path / "warden.db", 3)
    assert run_cli("audit", "verify", "--anchor", "head.json", cwd=tmp_path,
                   env=env_for(tmp_path)).returncode == 0
    with sqlite3.connect(tmp_path / "warden.db") as conn:
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute("DELETE FROM audit_log WHERE id > 5")
    alone = run_cli("audit", "verify", cwd=tmp_path, env=env_for(tmp_path))
    assert alone.returncode == 0 and "5 row(s) verified" in alone.stdout
    cut = run_cli("audit", "verify", "--anchor", "head.json", cwd=tmp_path,
                  env=env_for(tmp_path))
    assert cut.returncode == 2
    assert cut.stderr.count("\n") == 1
    assert "audit chain has 5 row(s), fewer than the 6 anchored" in cut.stderr

    # Cut and re-grown to the same length: row 6 is there, but not the anchored one.
    await more_audit_rows(tmp_path / "warden.db", 1)
    regrown = run_cli("audit", "verify", "--anchor", "head.json", cwd=tmp_path,
                      env=env_for(tmp_path))
    assert regrown.returncode == 2
    assert "audit row 6 does not carry the hash anchored" in regrown.stderr

    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    refused = run_cli("audit", "verify", "--anchor", "bad.json", cwd=tmp_path,
                      env=env_for(tmp_path))
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "is not an anchor written by `audit anchor`" in refused.stderr
