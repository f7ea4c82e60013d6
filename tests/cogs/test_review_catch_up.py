"""The review posts a stop (or a broken channel) left unmade: every one is posted,
oldest first, under Discord's per-channel limit, and a restart part-way carries on
where it stopped. The Discord stand-in enforces the limit as Discord announces it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cogs.test_review_post import caught_up, staff_setup
from tests.review_rig import ReviewWorld, review_world
from tests.standins.discord import ChannelPostLimits, start_discord_standin
from tests.support import clean_env

WAITING = 32  # more than the 25 an earlier Warden caught up on
PACE = 0.12


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env(monkeypatch, tmp_path)


def posted_ids(w: ReviewWorld) -> list[int]:
    """Report ids of the review posts in the staff channel, in the order posted."""
    found = []
    for message in w.discord.channel_messages("staff-only"):
        match = re.search(r"Warden report id (\d+)", message.text)
        if match:
            found.append(int(match.group(1)))
    return found


async def test_every_missing_review_post_is_made_oldest_first_paced_and_resumed(
    tmp_path: Path
) -> None:
    # Discord's shape (5 posts per window per channel), with a short window.
    limits = ChannelPostLimits(posts=5, window=0.5)
    async with start_discord_standin(channel_posts=limits) as discord:
        async with review_world(tmp_path, discord) as w:
            await staff_setup(w)
            await caught_up(w)
            # Accepted, but every process stopped before their review posts were made.
            waiting = [(await w.accept_report(announce=False)).id for _ in range(WAITING)]
        staff = discord.guild.channel("staff-only").id

        async with review_world(tmp_path, discord, review_catch_up_interval_seconds=PACE) as w2:
            await discord.wait_until(lambda: len(posted_ids(w2)) >= 10,
                                     description="some review posts")
        # Stopped part-way: the next start carries on with the oldest still missing.
        made_before_restart = len(posted_ids(w2))
        assert 10 <= made_before_restart < WAITING

        async with review_world(tmp_path, discord, review_catch_up_interval_seconds=PACE) as w3:
            await caught_up(w3)
            assert posted_ids(w3) == waiting  # all of them, each once, oldest first
            for report_id in waiting:
                assert (await w3.report(report_id)).review_message_id is not None

    # Paced under the limit: Discord never had to refuse a post.
    assert limits.refused[staff] == 0


async def test_setup_answers_before_a_long_catch_up_is_done(tmp_path: Path) -> None:
    async with start_discord_standin(channel_posts=ChannelPostLimits(posts=5, window=5.0)) as (
        discord
    ), review_world(tmp_path, discord, review_catch_up_interval_seconds=1.0) as w:
        await caught_up(w)
        for _ in range(8):
            await w.accept_report(announce=False)
        handle = await discord.slash(w.owner, "warden",
                                     {"channel": discord.guild.channel("staff-only")},
                                     subcommand="setup")
        reply = await handle.wait_final(timeout=15)
        assert "Posting the waiting reports to the review channel, oldest first" in reply.text
        assert 0 < len(posted_ids(w)) < 8
