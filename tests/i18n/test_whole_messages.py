"""Messages that used to be glued from pieces (so only the pieces, or nothing, translated)
are whole messages with placeholders: in another language nothing English is left over."""

from __future__ import annotations

from bot.domain import GuildSettings, Provider, ReviewMode
from bot.i18n import localize
from bot.services.linking.service import LinkHealth, LinkSummary
from bot.services.review.card import history_line
from bot.services.review.checklist import ChannelFacts, SetupFacts, checklist
from bot.services.review.dates import parse_range
from bot.services.review.queries import ListQuery, ReportListPage
from bot.store.audit import AuditEntry
from cogs.linking import _describe
from cogs.review.reports import page_embed
from tests.i18n.fake_catalogs import translated

NO_REVIEW_CHANNEL = ("not set: reports are stored and delivered per the review mode, but no "
                     "moderator is shown them. In approve mode nothing is forwarded until a "
                     "moderator approves it with `/reports show`.")
OUTSIDERS = ("{shown} and {more} more can read {where} without being moderators (the "
             "moderator role, Manage Server or Administrator); Warden leaves reporters' "
             "names out of posts there.")


def _details(guild: GuildSettings, facts: SetupFacts, problem: dict[str, object] | None
             ) -> list[str]:
    items = checklist(guild, facts, destinations=[], last_problem=problem)
    return [localize(i.detail, "fr") for i in items]


def test_setup_checklist_lines_are_whole_messages() -> None:
    french = {NO_REVIEW_CHANNEL: "FR pas de salon", OUTSIDERS: "FR {shown} +{more} {where}",
              "failed: {detail} (report #{number})": "FR échec {detail} n°{number}"}
    with translated("fr", french):
        unset = _details(GuildSettings(1, review_mode=ReviewMode.APPROVE),
                         SetupFacts(None, None), None)
        assert "FR pas de salon" in unset
        viewers = tuple(f"@role{i}" for i in range(12))
        public = _details(
            GuildSettings(1, review_channel_id=5),
            SetupFacts(ChannelFacts(5, True, "reports", outside_viewers=viewers), None),
            {"detail": "403", "number": 7},
        )
        assert "FR @role0, @role1, @role2, @role3, @role4, @role5, @role6, @role7, @role8, "\
               "@role9 +2 #reports" in public
        assert "FR échec 403 n°7" in public


def test_history_dismissal_and_link_lines_are_whole_messages() -> None:
    french = {
        "Dismissed: {reason}": "Rejeté : {reason}",
        "**{provider}**: {account}, linked {since}. Working.":
            "**{provider}** : {account}, lié le {since}. Fonctionne.",
    }
    with translated("fr", french):
        entry = AuditEntry(1, 0.0, 1, 2, "report.dismissed", 3, {"reason": "no proof"},
                           "", "", "{}")
        line = history_line(entry, lambda d: d or "")
        assert line is not None and localize(line.text, "fr") == "Rejeté : no proof"
        link = LinkSummary(Provider.BUNGIE, "1", "Alice#1", None, None, None, (), 0.0,
                           LinkHealth.WORKING, None)
        shown = localize(_describe(link), "fr")
        assert shown.startswith("**Bungie.net** : Alice#1, lié le <t:0:D>") and "Working" not in \
            shown


def test_reports_list_footer_is_one_message() -> None:
    french = {"Filters: {filters}. Page {page} of {pages}. Open one with /reports show.":
              "Filtres : {filters}. Page {page} sur {pages}.",
              "reason {reason}": "motif {reason}"}
    with translated("fr", french):
        page = ReportListPage(items=(), total=0, page=0, pages=1)
        embed = page_embed(page, ListQuery(reason="afk", range=parse_range(None, None)), "fr")
        assert embed.footer.text is not None
        assert embed.footer.text.startswith("Filtres : motif AFK. Page 1 sur 1.")
