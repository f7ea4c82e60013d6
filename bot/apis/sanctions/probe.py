"""What ``python -m bot check`` reports about the sanctions credentials."""

from __future__ import annotations

from dataclasses import dataclass, field

REPORT_FOR_PLAYERS = "sanction:report:create:any"
READ_SENT_REPORTS = "sanction:report:read:source-any"


@dataclass(frozen=True)
class ProbeResult:
    """``None`` in a ``can_*`` field means "unknown": the token's claims could not be
    read and the API was not asked (creating a report just to find out is not an
    option)."""

    token_obtained: bool
    can_report_for_players: bool | None = None
    can_read_sent_reports: bool | None = None
    permissions: tuple[str, ...] | None = None
    expires_in: int | None = None
    how: str = ""
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return (
            self.token_obtained
            and self.can_report_for_players is not False
            and self.can_read_sent_reports is not False
        )

    def lines(self) -> list[str]:
        def word(value: bool | None) -> str:
            return "unknown" if value is None else ("yes" if value else "NO")

        if not self.token_obtained:
            return ["service token: NOT obtained", *self.problems]
        return [
            f"service token: obtained (expires in {self.expires_in}s)",
            f"report on behalf of players ({REPORT_FOR_PLAYERS} or sanction:*): "
            f"{word(self.can_report_for_players)}",
            f"read sent reports, used to avoid duplicates ({READ_SENT_REPORTS} or sanction:*): "
            f"{word(self.can_read_sent_reports)}",
            f"determined from: {self.how}",
            *self.problems,
        ]
