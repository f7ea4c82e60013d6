"""Destiny activities for reports: PGCRs with member-facing errors, and pickers.

Autocomplete runs on every keystroke and must answer within Discord's 3 seconds,
so everything here is cached in memory: PGCRs never change once an activity is
over, activity names only with the manifest, and a member's recent activities
are good for a minute.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.apis.bungie import ActivityHistoryEntry, BungieClient, Pgcr
from bot.apis.errors import ApiError, NotFound, PrivacyRestricted
from bot.errors import InvalidInput, UserFacingError
from bot.i18n import Ago, localize, t
from bot.services.reporting.activity_modes import mode_name
from bot.services.reporting.targets import Identity

log = logging.getLogger(__name__)

ACTIVITY_ENTITY = "DestinyActivityDefinition"
PGCR_CACHE_SIZE = 64
"""PGCRs kept, most recently used first. They serve the minute or two between a member's
first keystroke in the player picker and the ``/report`` it leads to, so this is the
number of activities being reported at once. Each takes 6 KB (2 players) to about 28 KB
(12 players) of memory: 256 of them held up to 7 MiB."""
PGCR_TTL = 3600.0
REFUSED_TTL = 600.0
"""Seconds a "no such activity" or "private" answer is remembered: a typed bad id must
not cost a Bungie call per keystroke (Bungie's answer for it does not change soon)."""
REFUSED_CACHE_SIZE = 1024
RECENT_TTL = 60.0
RECENT_PER_CHARACTER = 10
CHOICES_MAX = 25
"""Discord shows at most 25 autocomplete choices."""
CHOICE_NAME_MAX = 100


@dataclass(frozen=True)
class Choice:
    """An autocomplete entry: what the member sees and what the option receives."""

    name: str
    value: str


@dataclass(frozen=True)
class _Recent:
    entries: tuple[ActivityHistoryEntry, ...]
    fetched_at: float


class ActivityDirectory:
    def __init__(
        self, bungie: BungieClient | None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._bungie = bungie
        self._clock = clock
        self._pgcrs: OrderedDict[int, tuple[Pgcr, float]] = OrderedDict()
        self._refused: OrderedDict[int, tuple[str, float]] = OrderedDict()
        # One Bungie call per activity at a time: concurrent askers share its answer.
        self._fetching: dict[int, asyncio.Task[Pgcr]] = {}
        self._names: dict[tuple[int, str], str | None] = {}
        """(activity hash, Bungie language) -> its name in that language."""
        self._recent: dict[int, _Recent] = {}

    @property
    def enabled(self) -> bool:
        return self._bungie is not None

    def known(self, activity_id: int) -> bool:
        """Whether ``pgcr`` would answer without a new Bungie call."""
        now = self._clock()
        cached = self._pgcrs.get(activity_id)
        refused = self._refused.get(activity_id)
        return bool(
            (cached is not None and now - cached[1] < PGCR_TTL)
            or (refused is not None and now - refused[1] < REFUSED_TTL)
            or activity_id in self._fetching
        )

    def recent_ids(self, reporter: Identity) -> frozenset[int]:
        """The activities the member's picker last offered them (empty once stale)."""
        if reporter.destiny_membership_id is None:
            return frozenset()
        recent = self._recent.get(reporter.destiny_membership_id)
        if recent is None or self._clock() - recent.fetched_at >= RECENT_TTL:
            return frozenset()
        return frozenset(e.instance_id for e in recent.entries)

    async def pgcr(self, activity_id: int) -> Pgcr:
        """The activity's PGCR, or a refusal that says what is wrong with the id."""
        now = self._clock()
        cached = self._pgcrs.get(activity_id)
        if cached is not None and now - cached[1] < PGCR_TTL:
            self._pgcrs.move_to_end(activity_id)
            return cached[0]
        refused = self._refused.get(activity_id)
        if refused is not None and now - refused[1] < REFUSED_TTL:
            raise InvalidInput(refused[0])
        if self._bungie is None:
            raise UserFacingError(t('This Warden is not connected to Bungie.net.'))
        task = self._fetching.get(activity_id)
        if task is None:
            task = asyncio.create_task(self._fetch_pgcr(activity_id))
            self._fetching[activity_id] = task
            task.add_done_callback(lambda t: self._fetched(activity_id, t))
        # Shielded: an autocomplete giving up must not cancel the answer others await.
        return await asyncio.shield(task)

    def _fetched(self, activity_id: int, task: asyncio.Task[Pgcr]) -> None:
        if self._fetching.get(activity_id) is task:
            del self._fetching[activity_id]
        if not task.cancelled():
            task.exception()  # retrieved here too: nobody may be awaiting it any more

    async def _fetch_pgcr(self, activity_id: int) -> Pgcr:
        assert self._bungie is not None
        try:
            pgcr = await self._bungie.get_pgcr(activity_id)
        except NotFound:
            raise self._refuse(
                activity_id,
                t('Bungie.net has no activity `{activity_id}`. Check the id: it is the '
                  "number at the end of the activity's post-game report link.",
                  activity_id=activity_id)
            ) from None
        except PrivacyRestricted:
            raise self._refuse(
                activity_id,
                t("Activity `{activity_id}` is private on Bungie.net, so I can't check who "
                  'played in it. Report without the activity, or ask the player whose '
                  'privacy settings hide it.',
                  activity_id=activity_id)
            ) from None
        except ApiError as exc:
            raise UserFacingError(
                t("Bungie.net is not answering right now, so I can't check the activity. Try "
                  'again in a few minutes. ({value})',
                  value=exc.code or exc.status or type(exc).__name__)
            ) from None
        self._pgcrs[activity_id] = (pgcr, self._clock())
        while len(self._pgcrs) > PGCR_CACHE_SIZE:
            self._pgcrs.popitem(last=False)
        return pgcr

    def _refuse(self, activity_id: int, message: str) -> InvalidInput:
        self._refused[activity_id] = (message, self._clock())
        self._refused.move_to_end(activity_id)
        while len(self._refused) > REFUSED_CACHE_SIZE:
            self._refused.popitem(last=False)
        return InvalidInput(message)

    async def describe(self, activity_id: int, mode: int | None, hash_: int | None,
                       period: datetime | None, language: str = "en") -> str:
        """``Trials of Osiris · Burnout · 3 hours ago`` (as much as is known)."""
        parts = []
        if mode:
            parts.append(localize(mode_name(mode), language))
        if hash_:
            name = await self._activity_name(hash_, language)
            if name and name not in parts:
                parts.append(name)
        if period is not None:
            parts.append(localize(self._ago(period), language))
        return " · ".join(parts) or localize(t("activity {activity_id}",
                                               activity_id=activity_id), language)

    # ---- autocomplete --------------------------------------------------------------

    async def recent_choices(self, reporter: Identity, typed: str,
                             language: str = "en") -> list[Choice]:
        """The member's latest activities across their characters, newest first, activity
        names in ``language`` (Bungie's manifest language)."""
        if self._bungie is None or reporter.destiny_membership_id is None:
            return []
        entries = await self._recent_entries(reporter)
        needle = typed.strip().casefold()
        hashes = {e.director_activity_hash for e in entries if e.director_activity_hash}
        await asyncio.gather(*(self._activity_name(h, language) for h in hashes))
        choices: list[Choice] = []
        for entry in entries:
            label = await self.describe(entry.instance_id, entry.mode,
                                        entry.director_activity_hash, entry.period, language)
            name = _fit(f"{label} · {entry.instance_id}")
            if needle and needle not in name.casefold():
                continue
            choices.append(Choice(name, str(entry.instance_id)))
            if len(choices) == CHOICES_MAX:
                break
        return choices

    async def player_choices(self, activity_id: int, reporter: Identity,
                             typed: str) -> list[Choice]:
        """The other players of an activity, by Bungie name."""
        pgcr = await self.pgcr(activity_id)
        needle = typed.strip().casefold()
        mine = reporter.destiny_ids
        seen: set[int] = set()
        choices: list[Choice] = []
        for entry in pgcr.entries:
            if entry.membership_id in mine or entry.membership_id in seen:
                continue
            seen.add(entry.membership_id)
            name = entry.bungie_name
            if not name:
                continue
            shown = name
            klass = entry.player.character_class
            if klass:
                shown = f"{name} · {klass}"
            if needle and needle not in shown.casefold():
                continue
            choices.append(Choice(_fit(shown), name))
        return choices[:CHOICES_MAX]

    async def _recent_entries(self, reporter: Identity) -> tuple[ActivityHistoryEntry, ...]:
        assert self._bungie is not None and reporter.destiny_membership_id is not None
        key = reporter.destiny_membership_id
        cached = self._recent.get(key)
        if cached is not None and self._clock() - cached.fetched_at < RECENT_TTL:
            return cached.entries
        mtype = reporter.destiny_membership_type or 0
        characters = await self._bungie.get_profile_characters(mtype, key)
        histories = await asyncio.gather(*(
            self._bungie.get_activity_history(mtype, key, c.character_id,
                                              count=RECENT_PER_CHARACTER)
            for c in characters
        ))
        merged: dict[int, ActivityHistoryEntry] = {}
        for history in histories:
            for entry in history:
                merged.setdefault(entry.instance_id, entry)
        entries = tuple(sorted(merged.values(), key=lambda e: e.period, reverse=True))
        now = self._clock()
        self._forget_stale_recent(now)
        self._recent[key] = _Recent(entries, now)
        return entries

    def _forget_stale_recent(self, now: float) -> None:
        """Hold the lists of the members who used the picker in the last minute, not of
        every member who ever did (up to 30 activities each, for the process's life)."""
        stale = [key for key, recent in self._recent.items()
                 if now - recent.fetched_at >= RECENT_TTL]
        for key in stale:
            del self._recent[key]

    async def _activity_name(self, hash_: int, language: str = "en") -> str | None:
        """The activity's name in ``language`` (Bungie's manifest language), cached."""
        key = (hash_, language)
        if key in self._names:
            return self._names[key]
        name: str | None = None
        if self._bungie is not None:
            try:
                definition = await self._bungie.get_manifest_entity(ACTIVITY_ENTITY, hash_,
                                                                    language)
                props = definition.get("displayProperties") or {}
                name = str(props.get("name") or "") or None
            except NotFound:
                pass
            except ApiError as exc:
                log.debug("no manifest name for activity %s yet: %s", hash_, exc)
                return None  # a passing failure: ask again next time
        self._names[key] = name
        return name

    def _ago(self, period: datetime) -> str:
        seconds = self._clock() - period.timestamp()
        return t("just now") if seconds < 60 else Ago(seconds)


def _fit(text: str) -> str:
    return text if len(text) <= CHOICE_NAME_MAX else text[: CHOICE_NAME_MAX - 1] + "…"
