"""A member filing one report while Warden may be crashing under them.

The member opens a draft (``/report`` or "Report player" and its form), then presses
Confirm until Warden answers that the report is confirmed and saved. When nothing comes
back (Warden was killed mid-answer, or is down) they try again once it is up: a lost
draft is started afresh, a draft they saw is confirmed again (its button survives
restarts, and a second Confirm of an accepted report only repeats the answer). A
refusal (Bungie.net unavailable while checking the activity...) is retried the same
way. Every step and the number of tries are bounded.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from chaos.population import Job
from tests.standins.discord import DiscordStandIn, RecordedMessage, StandInAssertionError

ACK = "is confirmed and saved"
"""What the draft says once Warden accepted it (``report_text.progress_notice``): the
acknowledgement that makes the report Warden's responsibility."""
CONFIRM_PREFIX = "warden:report:confirm:"
T = TypeVar("T")


class Liveness:
    """Whether Warden runs, and a signal to everyone waiting on it when it is killed."""

    def __init__(self) -> None:
        self.up = asyncio.Event()
        self._death = asyncio.Event()

    def started(self) -> None:
        self.up.set()

    def killed(self) -> None:
        self.up.clear()
        self._death.set()
        self._death = asyncio.Event()

    @property
    def next_death(self) -> asyncio.Event:
        return self._death


class Interrupted(StandInAssertionError):
    """Warden was killed while the member waited for its answer."""


@dataclass
class Filing:
    job: Job
    status: str = "not started"
    """``acknowledged``, ``refused`` (Warden kept saying no), ``gave up`` (no answer)."""
    report_id: int | None = None
    draft_id: int | None = None
    """The draft message's id: what Warden's "confirmed and saved" edit is found by."""
    tries: int = 0
    note: str = ""
    seconds_to_draft: float | None = None
    """From the member's command (or menu) to the draft, for the try that got one."""
    seconds_to_ack: float | None = None
    """From pressing Confirm to "confirmed and saved", for the try that got it."""


def confirm_id(message: RecordedMessage) -> str | None:
    return next((c for c in message.custom_ids if c.startswith(CONFIRM_PREFIX)), None)


def report_id_of(message: RecordedMessage) -> int | None:
    found = confirm_id(message)
    return None if found is None else int(found.rsplit(":", 1)[1])


@dataclass
class Member:
    discord: DiscordStandIn
    life: Liveness
    rng: random.Random
    tries: int = 8
    answer_timeout: float = 15.0

    async def file(self, job: Job) -> Filing:
        filing = Filing(job)
        draft: RecordedMessage | None = None
        for attempt in range(1, self.tries + 1):
            filing.tries = attempt
            try:
                await asyncio.wait_for(self.life.up.wait(), timeout=self.answer_timeout * 2)
            except TimeoutError:
                filing.note = "Warden was down"
                continue
            try:
                if draft is None:
                    began = time.perf_counter()
                    reply = await self._unless_killed(self._draft(job))
                    if confirm_id(reply) is None:
                        filing.status, filing.note = "refused", _first_line(reply.text)
                        await asyncio.sleep(self.rng.uniform(0.2, 1.0))
                        continue
                    draft = reply
                    filing.report_id = report_id_of(reply)
                    filing.draft_id = reply.id
                    filing.seconds_to_draft = time.perf_counter() - began
                began = time.perf_counter()
                answer = await self._unless_killed(self._confirm(job, draft))
                if ACK in answer.text:
                    filing.status, filing.note = "acknowledged", ""
                    filing.seconds_to_ack = time.perf_counter() - began
                    return filing
                filing.status, filing.note = "refused", _first_line(answer.text)
            except StandInAssertionError as exc:
                # No answer in time, or nobody connected: Warden was probably killed.
                filing.status, filing.note = "gave up", _first_line(str(exc))
            await asyncio.sleep(self.rng.uniform(0.2, 1.0))
        return filing

    async def _unless_killed(self, step: Awaitable[T]) -> T:
        """``step``, abandoned as soon as Warden is killed (its answer will never come)."""
        death = self.life.next_death
        work = asyncio.ensure_future(step)
        killed = asyncio.ensure_future(death.wait())
        try:
            await asyncio.wait({work, killed}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            work.cancel()
            raise
        finally:
            killed.cancel()
        if work.done():
            return work.result()
        work.cancel()
        await asyncio.gather(work, return_exceptions=True)
        raise Interrupted("Warden was killed while the member waited")

    async def _draft(self, job: Job) -> RecordedMessage:
        who, target = job.reporter.member, job.target
        if job.flow == "menu":
            handle = await self.discord.user_command(who, "Report player", target.member,
                                                     timeout=self.answer_timeout)
            modal = await handle.modal(self.answer_timeout)
            values = {"report:reason": [job.reason], "report:activity": str(job.activity_id)}
            handle = await self.discord.submit_modal(who, modal, values,
                                                     timeout=self.answer_timeout)
        else:
            player = (target.account.bungie_name if job.flow == "slash-name"
                      else f"<@{target.discord_id}>")
            handle = await self.discord.slash(
                who, "report", {"reason": job.reason, "player": player,
                                "activity": str(job.activity_id)},
                timeout=self.answer_timeout)
        return await handle.wait_final(timeout=self.answer_timeout)

    async def _confirm(self, job: Job, draft: RecordedMessage) -> RecordedMessage:
        custom_id = confirm_id(draft)
        assert custom_id is not None
        handle = await self.discord.click(job.reporter.member, draft, custom_id,
                                          timeout=self.answer_timeout)

        def answered(message: RecordedMessage) -> bool:
            # The draft edited to say so, or an error reply to this click.
            return ACK in message.text or (message.id != draft.id and bool(message.text))

        return await handle.wait_final(answered, timeout=self.answer_timeout)


def acknowledged_drafts(discord: DiscordStandIn) -> set[int]:
    """The draft messages Warden edited to say their report is confirmed and saved
    (report ids repeat after a restore; draft messages do not)."""
    return {m.id for m in discord.message_log if ACK in m.text}


def acknowledged_by_warden(discord: DiscordStandIn) -> set[int]:
    """Reports whose draft Warden edited to say they are confirmed and saved, from the
    Discord stand-in's record of every message version (whether or not the member's
    wait saw it before a kill)."""
    report_of: dict[int, int] = {}
    acked: set[int] = set()
    for message in discord.message_log:
        found = report_id_of(message)
        if found is not None:
            report_of[message.id] = found
    for message in discord.message_log:
        if ACK in message.text and message.id in report_of:
            acked.add(report_of[message.id])
    return acked


OUTCOME_DM = re.compile(r"Report #(\d+): delivery")
CONFIRMED = re.compile(r"Report #(\d+) confirmed")
STILL_GOING = "I'll tell you here how it went"


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:160]


Told = dict[tuple[int, int], list[float]]
"""(reporter, report number) -> when (``time.perf_counter``) each telling of the outcome
happened: in place (the confirmed draft's latest version is final) or by DM."""


def told_reporters(discord: DiscordStandIn) -> Told:
    told: Told = {}
    for message in discord.messages:
        if message.recipient_id is None:
            continue
        for embed in message.embeds:
            title = str(embed.get("title") or "")
            found = OUTCOME_DM.fullmatch(title) if message.is_dm else (
                CONFIRMED.fullmatch(title) if message.ephemeral
                and STILL_GOING not in message.text else None)
            if found is not None:
                when = message.edited_at or message.created_at
                told.setdefault((message.recipient_id, int(found[1])), []).append(when)
    return told
