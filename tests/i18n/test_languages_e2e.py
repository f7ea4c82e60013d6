"""Through the Discord stand-in with a real discord.py bot and the real catalogs: a member
whose Discord speaks German reports in German (answers, buttons, the DM), and the review
post in a server set to French is French.

The catalogs are being translated as this is written: the test uses whatever ``localize``
returns for messages translated by then, and asserts that differs from English."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain import Reason, ReviewMode
from bot.i18n import localize, t
from tests.report_rig import report_world
from tests.standins.discord import DiscordStandIn, RecordedMessage

pytestmark = pytest.mark.usefixtures("isolated_env")

DRAFT = t("Report #{number}: check and confirm", number=1)
CONFIRM = t("Confirm report")
CHEATING = Reason.CHEATING.label


def _translated(message: str, locale: str) -> str:
    shown = localize(message, locale)
    if shown == str(message):
        pytest.xfail(f"{message.msgid!r} is not translated into {locale} yet")  # type: ignore[attr-defined]
    return shown


async def test_a_german_reporter_and_a_french_server(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    german_draft = _translated(DRAFT, "de")
    german_confirm = _translated(CONFIRM, "de")
    german_cheating = _translated(CHEATING, "de")
    french_cheating = _translated(CHEATING, "fr")

    async with report_world(tmp_path, discord_standin, review_mode=ReviewMode.APPROVE) as w:
        g = w.discord.guild
        await w.link_everyone()
        await w.set_guild(review_channel_id=g.review_channel.id,
                          moderator_role_id=g.moderator_role.id, language="fr")
        w.alice.user.locale = "de"

        draft = await w.report(w.alice, reason="cheating", player="Bob#0042",
                               description="Aimbot")
        assert german_draft in draft.text and german_cheating in draft.text
        [confirm] = [c for c in draft.custom_ids if c.startswith("warden:report:confirm:")]
        button = draft.component(confirm)
        assert button is not None and button["label"] == german_confirm
        report_id = w.report_id(draft)
        await (await w.confirm(w.alice, draft)).response()

        def review_post() -> RecordedMessage | None:
            for message in w.discord.channel_messages(g.review_channel):
                if f"warden:review:approve:{report_id}" in message.custom_ids:
                    return message
            return None

        post: RecordedMessage = await w.discord.wait_until(review_post,
                                                           description="the review post")
        assert french_cheating in post.text and german_cheating not in post.text

        handle = await w.discord.click(g.moderator, post, f"warden:review:approve:{report_id}")
        await handle.wait_final(lambda m: m.ephemeral)

        dm = await w.discord.wait_for_dm(w.alice)  # the decision, in Alice's language
        assert german_cheating in dm.text and "Cheating" not in dm.text
