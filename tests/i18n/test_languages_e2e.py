"""Through the Discord stand-in with a real discord.py bot and the real catalogs: a member
whose Discord speaks German reports in German (answers, buttons, the DM), and the review
post in a server set to French is French.

The catalogs are being translated as this is written: the test uses whatever ``localize``
returns for messages translated by then, and asserts that differs from English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.domain import Reason, ReportLimits, ReviewMode
from bot.i18n import localize, t
from bot.services.events import Event, EventKind
from tests.i18n.fake_catalogs import pseudo_translated
from tests.report_rig import report_world
from tests.review_rig import ReviewWorld, review_world
from tests.standins.discord import DiscordStandIn, RecordedMessage
from tests.standins.sanctions import REPORTS_ROUTE

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


UPSTREAM = "evidence link is not reachable"
"""The game backend's own words for refusing a report: shown as it wrote them, in any
language."""


async def test_a_delivery_error_is_read_in_the_servers_and_the_reporters_language(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    """The game backend refuses a report: the French server's review post says why in
    French, the German reporter reads it in German, and the backend's own words are
    intact in both; what is stored for logs and exports stays the English of before."""
    async with report_world(tmp_path, discord_standin) as w:
        g = w.discord.guild
        await w.link_everyone()
        await w.set_guild(review_channel_id=g.review_channel.id,
                          moderator_role_id=g.moderator_role.id, language="fr")
        w.alice.user.locale = "de"
        w.sanctions.inject("respond", status=400, path=REPORTS_ROUTE, method="POST",
                           body={"error_code": "invalid_report", "desc": UPSTREAM})

        draft = await w.report(w.alice, player=str(w.bob_game.uuid), description="Aimbot")
        report_id = w.report_id(draft)
        german = f"nicht gesendet: das Spiel-Backend hat die Meldung abgelehnt: {UPSTREAM}"
        confirm = await w.confirm(w.alice, draft)
        told = await confirm.wait_final(lambda m: "Spiel-Backend:**" in m.text
                                        and "konnte nicht zugestellt werden" in m.text)
        assert german in told.text, told.text

        [row] = await w.wait_delivered(report_id)
        assert row.status == "failed"
        assert str(row.last_error) == f"not sent: the game backend refused the report: {UPSTREAM}"

        french = f"non envoyé : le serveur du jeu a refusé le signalement : {UPSTREAM}"

        def review_post() -> RecordedMessage | None:
            for message in w.discord.channel_messages(g.review_channel):
                if (f"warden:review:retry:{report_id}:sanctions" in message.custom_ids
                        and french in message.text):
                    return message
            return None

        post: RecordedMessage = await w.discord.wait_until(
            review_post, description="the review post to say why in French")
        # The delivery's line and its history line ("Échec de la livraison à ...").
        assert f"Échec de la livraison à Serveur du jeu : {french}" in post.text, post.text
        assert "not sent" not in post.text and "refused the report" not in post.text


async def test_a_delivery_error_stored_before_it_had_words_shows_its_english(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    """A row (and its audit row) written by an older Warden has only its English: the
    French server's post shows that English rather than nothing."""
    before = "not sent: the game backend answered: written before [old_code]"
    async with review_world(tmp_path, discord_standin) as w:
        await w.setup(language="fr", mode="auto")
        report = await w.accept_report(deliveries=(("sanctions", "pending"),))
        assert await w.store.deliveries.start_attempt(report.id, "sanctions") is not None
        # A plain string is stored without words, exactly as rows were before 0022.
        await w.store.deliveries.finish(report.id, "sanctions", status="failed", error=before)
        await w.bot.services.events.publish(
            Event(EventKind.DELIVERY_CHANGED, report.id, "sanctions"))

        def check() -> RecordedMessage | None:
            for message in w.discord.channel_messages(w.discord.guild.review_channel):
                if f"warden:review:retry:{report.id}:sanctions" in message.custom_ids:
                    return message
            return None

        post: RecordedMessage = await w.discord.wait_until(check, description="the retry")
        assert f"\n  {before}" in post.text  # the delivery's line
        assert f"Échec de la livraison à Serveur du jeu : {before}" in post.text, post.text


# Words a message only contains when some English was glued in: with every catalog id
# pseudo-translated, these appear only if a part of a message never went through one.
ENGLISH = frozenset("""
    the of and or by to in for is was were be not no you your they their them this that
    can again every per report reports reported reporter reporters case cases resolved
    dismissed claimed open action taken told dm dms closed server allows seconds second
    minute minutes hour hours day days ago warned timed out kicked banned member members
    status reason note outcome earlier delivery sent queued failed waiting moderator
    moderators approve approved history evidence activity player unknown game membership
    character map match last whole nothing done with
""".split())
_NOT_WORDS = re.compile(r"`[^`]*`|<[^<>]*>|\]\([^)]*\)|https?://\S+")


def english_words(text: str) -> set[str]:
    """The English words in ``text`` outside code spans, mentions, timestamps and links."""
    return {w for w in re.findall(r"[^\W\d_]+", _NOT_WORDS.sub(" ", text))
            if w.lower() in ENGLISH}


async def test_no_english_is_left_for_a_german_reporter_at_a_limit(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    """A German reporter refused by the server's rate limit reads it all in German: the
    rule, how long to wait (Babel's German) and when (a Discord timestamp)."""
    limits = ReportLimits(short_count=1, short_seconds=30)
    async with report_world(tmp_path, discord_standin, limits=limits) as w:
        await w.link_everyone()
        await w.report_and_confirm(w.alice, player="Bob#0042")
        w.alice.user.locale = "de"
        with pseudo_translated("de"):
            refused = await w.report(w.alice, player="Bob#0042")
        assert refused.ephemeral and "ßGuvf" in refused.text  # "This server allows..."
        assert re.search(r"\d+ Sekunden", refused.text) and "<t:" in refused.text
        assert not english_words(refused.text), refused.text


async def test_no_english_is_left_for_a_french_servers_moderators(
    tmp_path: Path, discord_standin: DiscordStandIn
) -> None:
    """In a server whose staff language is French, the review post, the answer to
    resolving a case and the answer to a member action carry no English."""
    async with review_world(tmp_path, discord_standin) as w:
        with pseudo_translated("fr"):
            await w.setup(language="fr")
            report = await w.accept_report(description="Xyz")
            post = await _post_with(w, f"warden:review:resolve:{report.case_id}")
            assert not english_words(post.text), post.text

            opened = await w.discord.click(w.mod, post,
                                           f"warden:review:resolve:{report.case_id}")
            modal = await opened.modal()
            shown = " ".join([modal.title] + [str(f.get(k) or "") for f in modal.fields
                                              for k in ("label", "placeholder")])
            assert not english_words(shown), shown
            late = await w.discord.click(w.mod, post, f"warden:review:resolve:{report.case_id}")
            done = await opened.submit_modal({"outcome": "warn", "note": "Xyz"})
            answer = (await done.wait_final(lambda m: m.ephemeral)).text
            assert "ßPnfr" in answer  # "Case of report #1 resolved..."
            assert not english_words(answer), answer
            resolved = await _post_with(w, f"warden:member:warn:{report.case_id}",
                                        "ßBhgpbzr")  # the post now says its outcome
            assert not english_words(resolved.text), resolved.text

            # A second moderator's form, opened before the first resolved: refused, also
            # in the server's language (not the moderator's own).
            refused = await (await late.submit_modal({"outcome": ""})).wait_final(
                lambda m: m.ephemeral)
            assert "ßnyernql" in refused.text  # "...was already resolved."
            assert not english_words(refused.text), refused.text

            second = await w.accept_report(description="Xyz")
            post = await _post_with(w, f"warden:member:timeout:{second.case_id}")
            opened = await w.discord.click(w.mod, post, f"warden:member:timeout:{second.case_id}")
            done = await opened.submit_modal({"reason": "Xyz", "duration": "1d"})
            answer = (await done.wait_final(lambda m: m.ephemeral)).text
            assert "1\xa0jour" in answer  # Babel's French, non-breaking space and all
            assert not english_words(answer), answer


async def _post_with(w: ReviewWorld, custom_id: str, *texts: str) -> RecordedMessage:
    def check() -> RecordedMessage | None:
        for channel in w.discord.guild.text_channels():
            for message in w.discord.channel_messages(channel):
                if custom_id in message.custom_ids and all(t in message.text for t in texts):
                    return message
        return None

    found: RecordedMessage = await w.discord.wait_until(check, description=custom_id)
    return found
