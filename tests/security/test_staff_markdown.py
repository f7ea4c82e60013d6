"""Issue 12 item 11: what a reporter writes reaches the moderators' embed as plain text.
A masked link ``[text](https://evil)`` in a description, a quoted message or a reply
shows its address literally instead of a clickable disguise."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bot.domain import Evidence
from tests.review_rig import review_world
from tests.standins.discord import DiscordStandIn, RecordedMessage

MASKED = "[Verify your account](https://evil.example/login)"
SECOND = "and [free nitro](https://evil.example/nitro)"
# A masked link that is not escaped: ``[`` without a backslash before it, then ``](``.
LIVE_LINK = re.compile(r"(?<!\\)\[[^\]\\]*\]\(https://evil")


def _embed_text(message: RecordedMessage) -> str:
    return json.dumps(message.embeds, ensure_ascii=False)


async def test_masked_links_show_literally_in_the_review_post_and_reports_show(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    async with review_world(tmp_path, discord_standin) as w:
        await w.setup(channel=w.discord.guild.channel("staff-only"))
        report = await w.accept_report(
            description=f"He cheats, proof: {MASKED} {SECOND} **urgent**",
            evidence=[Evidence(kind="message", url="https://discord.com/channels/1/2/3",
                               message_id=3, channel_id=2, author_id=w.bob.id,
                               text=f"click {MASKED} {SECOND}")],
        )
        await w.store.reports.add_note(report.id, author_id=w.alice.id, kind="reply",
                                       body=f"more: {MASKED} {SECOND}")
        await w.posts.refresh(report.id)
        post = await w.review_post(report)

        def says_reply() -> RecordedMessage | None:
            latest = w.discord.message(post.id)
            return latest if "more:" in latest.text else None

        post = await w.discord.wait_until(says_reply, description="the reply in the post")
        shown = _embed_text(post)
        assert "Verify your account" in shown and "evil.example/login" in shown
        assert not LIVE_LINK.search(shown), shown
        assert "\\\\*\\\\*urgent\\\\*\\\\*" in shown  # bold is shown, not applied

        show = await (await w.discord.slash(
            w.mod, "reports", {"number": report.number}, subcommand="show")).wait_final()
        assert "free nitro" in _embed_text(show)
        assert not LIVE_LINK.search(_embed_text(show))
