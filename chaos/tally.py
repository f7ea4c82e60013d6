"""After the run: what Warden's database says, what the stand-ins received, what members
were told, the invariants that must hold between them, and the table that shows it.

- Lost: a report Warden acknowledged to its member (the draft said it was confirmed
  and saved) that is not accepted in the database, or has a delivery that is not final.
  A report whose Confirm was cut by a kill and never acknowledged may legitimately be
  missing, so only acknowledged ones count.
- Duplicates: the sanctions stand-in holding two reports with the same
  ``custom_data.warden_report_uuid``; the Bungie stand-in holding two reports for the same
  (activity, offending character, reporter). Each accepted report has its own
  activity, so a second Bungie report can only be a resend.
- Phantoms: something upstream that Warden does not account for (a report for no
  accepted report), or a delivery Warden marked ``sent`` that never arrived.
- Told: each accepted report whose deliveries are all final has told its reporter the
  outcome once, in place (the confirmed draft edited to its final state) or by DM.

With a restore in the middle (``--restore``), reports and numbers repeat, so reports
are matched by their activity (each job has its own) and upstream by their random id.
Reports accepted after the backup and before the restore are gone from Warden's
database by the operator's choice: they are counted as rolled back, not lost, and
their upstream copies are not phantoms.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.domain import FINAL_DELIVERY_STATUSES, Delivery, Report
from bot.services.delivery.outbox import MAY_HAVE_LANDED
from bot.store import Store
from bot.store.reports import ReportFilter
from chaos.members import Filing, Told
from chaos.population import Job
from tests.standins.bungie import BungieStandin
from tests.standins.sanctions import SanctionsStandin

DESTINATIONS = ("bungie", "sanctions")


@dataclass
class Tally:
    filings: list[Filing]
    accepted: int = 0
    acknowledged: int = 0
    accepted_unacknowledged: int = 0
    by_status: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(destination, delivery status) -> count, over accepted reports."""
    failed_reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    duplicates_sanctions: int = 0
    duplicates_bungie: int = 0
    lost: list[str] = field(default_factory=list)
    phantoms: list[str] = field(default_factory=list)
    rolled_back: int = 0
    """Acknowledged reports that the restore took back (accepted after the backup)."""
    told: Counter[int] = field(default_factory=Counter)
    """How many times (0, 1, 2...) -> how many final reports told their reporter so."""
    retold_after_restore: int = 0
    """Told once before the restore and once after: the restored database cannot know
    what was told after its backup was taken."""
    landed_but_failed_bungie: int = 0
    """Bungie rows failed "may have landed" whose report did reach the stand-in."""
    lost_at_bungie: int = 0
    """Bungie rows failed "may have landed" whose report never reached the stand-in:
    reports Bungie.net never got."""
    already_reported_bungie: int = 0
    """Bungie rows sent because Bungie refused a re-send as already reported (1403)."""
    audit_ok: bool = False
    audit_text: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def filing_counts(self) -> Counter[str]:
        return Counter(f.status for f in self.filings)

    def check(self) -> list[str]:
        """The invariants; every one broken is a line in ``problems``."""
        if self.duplicates_sanctions:
            self.problems.append(f"{self.duplicates_sanctions} duplicate report(s) at sanctions")
        if self.duplicates_bungie:
            self.problems.append(f"{self.duplicates_bungie} duplicate report(s) at Bungie")
        if self.lost:
            self.problems.append(f"{len(self.lost)} acknowledged report(s) lost: "
                                 + "; ".join(self.lost[:5]))
        if self.phantoms:
            self.problems.append(f"{len(self.phantoms)} phantom(s): "
                                 + "; ".join(self.phantoms[:5]))
        untold, twice = self.told[0], sum(n for k, n in self.told.items() if k > 1)
        if untold:
            self.problems.append(f"{untold} final report(s) never told their reporter")
        if twice:
            self.problems.append(f"{twice} final report(s) told their reporter more than once")
        if not self.audit_ok:
            self.problems.append(f"audit chain not verified: {self.audit_text.strip()}")
        return self.problems


def reason_group(error: str | None) -> str:
    """A failure reason with its variable parts (numbers, ids, attempt counts) folded."""
    text = re.sub(r" \(gave up after \d+ attempts?\)$", "", error or "unknown")
    text = re.sub(r"\d+", "N", text)
    return text if len(text) <= 110 else text[:109] + "…"


@dataclass(frozen=True)
class RolledBack:
    """What the database held just before the restore (kept aside by ``restore``)."""

    activities: frozenset[int]
    uuids: frozenset[str]


async def count(store: Store, guild_id: int, filings: Iterable[Filing],
                acknowledged_drafts: set[int], jobs_by_activity: dict[int, Job],
                bungie: BungieStandin, sanctions: SanctionsStandin, *, told: Told,
                rolled_back: RolledBack | None = None,
                restored_at: float | None = None) -> Tally:
    """``acknowledged_drafts``: the drafts Warden edited to say "confirmed and saved"."""
    tally = Tally(list(filings))
    reports = {r.id: r for r in await store.reports.matching(ReportFilter(guild_id=guild_id))}
    by_activity = {r.activity_id: r.id for r in reports.values() if r.activity_id is not None}
    deliveries: dict[int, list[Delivery]] = {}
    for row in await store.deliveries.for_guild(guild_id, None, None):
        deliveries.setdefault(row.report_id, []).append(row)
    tally.accepted = len(reports)
    acknowledged = {f.job.activity_id for f in tally.filings
                    if f.status == "acknowledged" or f.draft_id in acknowledged_drafts}
    tally.acknowledged = len(acknowledged)
    tally.accepted_unacknowledged = len(set(by_activity) - acknowledged)

    for activity_id in sorted(acknowledged):
        report_id = by_activity.get(activity_id, -1)
        rows = deliveries.get(report_id, [])
        if report_id not in reports:
            if rolled_back is not None and activity_id in rolled_back.activities:
                tally.rolled_back += 1
            else:
                tally.lost.append(f"the report for activity {activity_id} is not accepted "
                                  "in the database")
        elif not rows:
            tally.lost.append(f"report {report_id} has no deliveries")
        else:
            open_rows = [f"{r.destination}={r.status}" for r in rows
                         if r.status not in FINAL_DELIVERY_STATUSES]
            if open_rows:
                tally.lost.append(f"report {report_id} not final: {', '.join(open_rows)}")
            # Every member here is linked on both sides and names an activity, so every
            # draft promised both destinations.
            missing = set(DESTINATIONS) - {r.destination for r in rows}
            if missing:
                tally.lost.append(f"report {report_id} has no delivery to "
                                  f"{', '.join(sorted(missing))}")

    for rows in deliveries.values():
        for row in rows:
            tally.by_status[(row.destination, row.status)] += 1
            if row.status == "failed":
                tally.failed_reasons[(row.destination, reason_group(row.last_error))] += 1

    for report_id, report in reports.items():
        rows = deliveries.get(report_id, [])
        if rows and all(r.status in FINAL_DELIVERY_STATUSES for r in rows):
            times = told.get((report.reporter_id, report.number), [])
            before = sum(1 for t in times if restored_at is not None and t < restored_at)
            if before == 1 and len(times) == 2:
                tally.retold_after_restore += 1
            else:
                tally.told[len(times)] += 1

    tally.already_reported_bungie = sum(
        1 for e in await store.audit.between(0.0, float(2**40), guild_id=guild_id)
        if e.action == "delivery.sent" and e.details.get("destination") == "bungie"
        and e.details.get("already_reported"))
    _sanctions(tally, reports, deliveries, sanctions, rolled_back)
    _bungie(tally, reports, deliveries, jobs_by_activity, bungie, rolled_back)
    return tally


def _sanctions(tally: Tally, reports: dict[int, Report], deliveries: dict[int, list[Delivery]],
               sanctions: SanctionsStandin, rolled_back: RolledBack | None) -> None:
    seen = Counter(str(r["custom_data"].get("warden_report_uuid")) for r in sanctions.reports)
    tally.duplicates_sanctions = sum(n - 1 for n in seen.values() if n > 1)
    uuids = {r.uuid: r.id for r in reports.values()}
    taken_back = set() if rolled_back is None else rolled_back.uuids
    for warden_uuid in seen:
        if warden_uuid not in uuids and warden_uuid not in taken_back:
            tally.phantoms.append(f"sanctions holds a report for Warden uuid {warden_uuid}, "
                                  "which is not an accepted report")
    for report_id, rows in deliveries.items():
        for row in rows:
            if row.destination == "sanctions" and row.status == "sent" and (
                str(reports[report_id].uuid) not in seen
            ):
                tally.phantoms.append(f"report {report_id} marked sent to sanctions, "
                                      "but it never arrived")


def _bungie(tally: Tally, reports: dict[int, Report], deliveries: dict[int, list[Delivery]],
            jobs_by_activity: dict[int, Job], bungie: BungieStandin,
            rolled_back: RolledBack | None) -> None:
    seen = Counter(
        (r.activity_id, int(r.body["offendingCharacterId"]), r.reporter.bnet_id)
        for r in bungie.reports
    )
    tally.duplicates_bungie = sum(n - 1 for n in seen.values() if n > 1)
    by_activity = {r.activity_id: r for r in reports.values() if r.activity_id is not None}
    taken_back = set() if rolled_back is None else rolled_back.activities
    for activity_id, _, _ in seen:
        if activity_id not in by_activity and activity_id not in taken_back:
            tally.phantoms.append(f"Bungie holds a report for activity {activity_id}, which "
                                  "no accepted report names")
    for report_id, rows in deliveries.items():
        report = reports[report_id]
        job = jobs_by_activity.get(report.activity_id or -1)
        if job is None or report.target_character_id is None:
            continue
        key = (job.activity_id, report.target_character_id, job.reporter.account.bnet_id)
        for row in rows:
            if row.destination != "bungie":
                continue
            if row.status == "sent" and key not in seen:
                tally.phantoms.append(f"report {report_id} marked sent to Bungie, but it "
                                      "never arrived")
            may_have_landed = row.status == "failed" and (row.last_error or "").startswith(
                MAY_HAVE_LANDED)
            if may_have_landed and key in seen:
                tally.landed_but_failed_bungie += 1
            elif may_have_landed:
                tally.lost_at_bungie += 1


def _at(ordered: list[float], share: float) -> float:
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


def table(tally: Tally, *, injected: Counter[tuple[str, str]], kills: list[str],
          unexpected_exits: int, log_errors: list[str], stop: str) -> str:
    """Figures in two columns; the grouped reasons below their line, count first."""
    filed = tally.filing_counts
    lines: list[str] = []

    def row(name: str, value: object) -> None:
        lines.append(f"{name:<54}{value}")

    def detail(count: int, text: str) -> None:
        lines.append(f"    {count:>6}  {text}")

    row("reports filed by members", len(tally.filings))
    row("  acknowledged (Warden said: confirmed and saved)", filed["acknowledged"])
    row("  refused on every try", filed["refused"])
    row("  no answer on any try", filed["gave up"] + filed["not started"])
    for label, attribute in (("draft", "seconds_to_draft"), ("confirmation", "seconds_to_ack")):
        waits = sorted(w for f in tally.filings if (w := getattr(f, attribute)) is not None)
        if waits:
            row(f"  member's wait for the {label}, p50 / p99 / max",
                f"{_at(waits, 0.5):.2f} / {_at(waits, 0.99):.2f} / {waits[-1]:.2f} s")
    row("reports accepted (in the database)", tally.accepted)
    row("  accepted but never acknowledged", tally.accepted_unacknowledged)
    if tally.rolled_back:
        row("  acknowledged, then taken back by the restore", tally.rolled_back)
    for destination in DESTINATIONS:
        statuses = {s: n for (d, s), n in tally.by_status.items() if d == destination}
        row(f"{destination}: delivered", statuses.pop("sent", 0))
        row(f"{destination}: handed off", statuses.pop("handed_off", 0))
        row(f"{destination}: failed", statuses.pop("failed", 0))
        for (d, reason), n in sorted(tally.failed_reasons.items(), key=lambda kv: -kv[1]):
            if d == destination:
                detail(n, reason)
        for status, n in sorted(statuses.items()):
            row(f"{destination}: {status}", n)
    row("bungie: failed 'may have landed' that did land", tally.landed_but_failed_bungie)
    row("final reports whose reporter was told once", tally.told[1])
    row("  told more than once", sum(n for k, n in tally.told.items() if k > 1))
    row("  never told", tally.told[0])
    if tally.retold_after_restore:
        row("  told before the restore and again after it", tally.retold_after_restore)
    row("bungie: failed 'may have landed' that did not (lost)", tally.lost_at_bungie)
    row("bungie: delivered as 'already reported' (1403)", tally.already_reported_bungie)
    row("duplicates at sanctions (same warden_report_uuid)", tally.duplicates_sanctions)
    row("duplicates at Bungie (activity, offender, reporter)", tally.duplicates_bungie)
    row("phantoms (upstream and the database disagree)", len(tally.phantoms))
    row("reports lost (acknowledged, not durable)", len(tally.lost))
    row("audit chain (python -m bot audit verify)", "verified" if tally.audit_ok else "BROKEN")
    row("SIGKILLs", len(kills))
    for kill in kills:
        lines.append(f"    {kill}")
    row("Warden exits nobody asked for", unexpected_exits)
    row("final graceful stop (SIGTERM)", stop)
    row("ERROR lines in Warden's log", len(log_errors))
    row("API faults injected", sum(injected.values()))
    for (destination, kind), n in sorted(injected.items()):
        detail(n, f"{destination} {kind}")
    return "\n".join(lines)
