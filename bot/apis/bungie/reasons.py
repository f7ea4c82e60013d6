"""Which Bungie report category and reason each of Warden's reasons becomes.

Bungie's reasons live in the manifest table ``DestinyReportReasonCategoryDefinition``
(9 categories, each with its own ``reasons``). A reason hash is only unique
within its category ("Other", 3087590961, is in every one), so a report always
names the pair. The mapping below is written with Bungie's display NAMES and
resolved to hashes against whatever table is loaded, so a renumbered manifest
does not silently send the wrong reason; a name that no longer exists falls
back to that category's "Other".
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from bot.apis.errors import ApiError, NotFound
from bot.domain import Reason

if TYPE_CHECKING:
    from bot.apis.bungie.client import BungieClient

log = logging.getLogger(__name__)

REPORT_CATEGORY_ENTITY = "DestinyReportReasonCategoryDefinition"
OTHER_REASON_HASH = 3087590961
SNAPSHOT_RESOURCE = "report_reasons_snapshot.json"
SETTING = "BUNGIE_REASON_MAP"

Source = Literal["live", "snapshot"]


class ReasonTarget(NamedTuple):
    category: str
    reason: str | None  # None: the category's "Other"


DEFAULT_REASON_MAP: Mapping[Reason, ReasonTarget] = {
    Reason.CHEATING: ReasonTarget("Cheating", "Hacking"),
    # "Abusive Chat" is Bungie's home for hateful and discriminatory talk; none of
    # its reasons (Insult, Harassment) names hate speech, so its Other is used.
    Reason.HATE_SPEECH: ReasonTarget("Abusive Chat", "Other"),
    Reason.HARASSMENT: ReasonTarget("Abusive Chat", "Harassment"),
    # Bungie's description of Abusive Chat: "Threatening or harassing others is
    # unacceptable".
    Reason.REAL_LIFE_THREAT: ReasonTarget("Abusive Chat", "Harassment"),
    # Collusion and stream sniping use information from outside the game for an
    # advantage, which is how Bungie defines Cheating; no specific reason fits.
    Reason.TEAMING: ReasonTarget("Cheating", "Other"),
    Reason.INTENTIONAL_FEEDING: ReasonTarget("Griefing", "Sabotage"),
    Reason.STREAM_SNIPING: ReasonTarget("Cheating", "Other"),
    Reason.AFK: ReasonTarget("Inactivity", "AFK"),
    Reason.DIDNT_PLAY_ASSIGNED_ROLE: ReasonTarget("Griefing", "Other"),
    # Griefing is the broadest behaviour category Bungie has.
    Reason.OTHER: ReasonTarget("Griefing", "Other"),
}


class ReasonMapError(ValueError):
    """The operator's reason mapping, or the loaded table, cannot be used."""


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class ReportReasonDef:
    hash: int
    name: str


@dataclass(frozen=True)
class ReportCategory:
    hash: int
    name: str
    description: str = ""
    index: int = 0
    reasons: tuple[ReportReasonDef, ...] = ()

    @classmethod
    def from_definition(cls, raw: Mapping[str, Any]) -> ReportCategory:
        """Build from a manifest ``DestinyReportReasonCategoryDefinition``."""
        try:
            props = raw.get("displayProperties") or {}
            reasons = tuple(
                ReportReasonDef(
                    int(r["reasonHash"]), str((r.get("displayProperties") or {}).get("name", ""))
                )
                for r in (raw.get("reasons") or {}).values()
            )
            return cls(
                hash=int(raw["hash"]),
                name=str(props.get("name", "")),
                description=str(props.get("description", "")),
                index=int(raw.get("index", 0)),
                reasons=reasons,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ReasonMapError(f"malformed report category definition ({exc})") from None

    def reason_named(self, name: str) -> ReportReasonDef | None:
        wanted = _norm(name)
        return next((r for r in self.reasons if _norm(r.name) == wanted), None)

    def other(self) -> ReportReasonDef | None:
        return self.reason_named("Other") or next(
            (r for r in self.reasons if r.hash == OTHER_REASON_HASH), None
        )


@dataclass(frozen=True)
class ResolvedReason:
    category_hash: int
    category_name: str
    reason_hash: int
    reason_name: str
    exact: bool
    """False when the wanted reason name was missing and the category's Other was used."""


@dataclass(frozen=True)
class ReasonTable:
    """Warden reason -> Bungie (category, reason) hashes, plus what it was built from.

    Serialisable, so the caller can cache it keyed by ``manifest_version``; the
    categories travel along so other overrides can be applied without Bungie.
    """

    entries: Mapping[Reason, ResolvedReason]
    categories: tuple[ReportCategory, ...]
    manifest_version: str | None
    source: Source
    notes: tuple[str, ...] = field(default=())

    def __getitem__(self, reason: Reason) -> ResolvedReason:
        return self.entries[reason]

    def with_overrides(
        self, overrides: Mapping[Reason, ReasonTarget] | None
    ) -> ReasonTable:
        return resolve_reason_map(self.categories, overrides,
                                  manifest_version=self.manifest_version, source=self.source)

    def to_json(self) -> str:
        return json.dumps(
            {
                "manifest_version": self.manifest_version,
                "source": self.source,
                "notes": list(self.notes),
                "entries": {r.value: asdict(e) for r, e in self.entries.items()},
                "categories": categories_json(self.categories),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> ReasonTable:
        try:
            raw = json.loads(text)
            categories = categories_from_json(raw["categories"])
            entries = {Reason(k): ResolvedReason(**v) for k, v in raw["entries"].items()}
            source = raw["source"]
            if source not in ("live", "snapshot"):
                raise ValueError(f"unknown source {source!r}")
            table = cls(entries=entries, categories=categories,
                        manifest_version=raw["manifest_version"], source=source,
                        notes=tuple(raw.get("notes", ())))
        except (KeyError, TypeError, ValueError) as exc:
            raise ReasonMapError(f"cached reason table is unreadable ({exc})") from None
        missing = [r.value for r in Reason if r not in entries]
        if missing:
            raise ReasonMapError(f"cached reason table lacks {', '.join(missing)}")
        return table


# ---- operator override -------------------------------------------------------------

def parse_reason_map(raw: str | Mapping[str, str] | None) -> dict[Reason, ReasonTarget]:
    """Parse ``BUNGIE_REASON_MAP``: a JSON object such as ``{"cheating": "Cheating/Other"}``
    or the same as ``cheating=Cheating/Other; afk=Inactivity/AFK``. A value without
    ``/`` names only the category and means its "Other". Names are matched against
    Bungie's table later, case-insensitively.
    """
    if raw is None:
        return {}
    pairs: Iterable[tuple[Any, Any]]
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return {}
        if text.startswith("{"):
            try:
                loaded = json.loads(text)
            except ValueError as exc:
                raise ReasonMapError(f"{SETTING}: not valid JSON ({exc.args[0]})") from None
            if not isinstance(loaded, dict):
                raise ReasonMapError(f"{SETTING}: must be a JSON object")
            pairs = loaded.items()
        else:
            pairs = _split_pairs(text)
    else:
        pairs = raw.items()

    valid = ", ".join(r.value for r in Reason)
    result: dict[Reason, ReasonTarget] = {}
    for key, value in pairs:
        try:
            reason = Reason(str(key).strip().lower())
        except ValueError:
            raise ReasonMapError(
                f"{SETTING}: unknown Warden reason {key!r}; use one of: {valid}"
            ) from None
        if not isinstance(value, str) or not value.strip():
            raise ReasonMapError(
                f"{SETTING}: {reason.value} needs a 'Category/Reason' string, e.g. 'Cheating/Other'"
            )
        category, _, name = value.partition("/")
        if not category.strip():
            raise ReasonMapError(f"{SETTING}: {reason.value} has no category in {value!r}")
        if reason in result:
            raise ReasonMapError(f"{SETTING}: {reason.value} is given twice")
        result[reason] = ReasonTarget(category.strip(), name.strip() or None)
    return result


def _split_pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for part in re.split(r"[;,\n]", text):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise ReasonMapError(
                f"{SETTING}: {part.strip()!r} is not 'reason=Category/Reason' "
                '(or give a JSON object such as {"cheating": "Cheating/Other"})'
            )
        pairs.append((key, value))
    return pairs


# ---- resolution ----------------------------------------------------------------------

def resolve_reason_map(
    categories: Iterable[ReportCategory],
    overrides: Mapping[Reason, ReasonTarget] | None = None,
    *,
    manifest_version: str | None = None,
    source: Source = "live",
) -> ReasonTable:
    """Resolve every Warden reason to hashes; raise ``ReasonMapError`` naming what is
    missing. A missing reason name falls back to the category's Other (noted);
    a missing category is an error, because guessing one would misfile reports."""
    cats = tuple(sorted(categories, key=lambda c: (c.index, c.hash)))
    by_name = {_norm(c.name): c for c in cats}
    wanted = {**DEFAULT_REASON_MAP, **(overrides or {})}
    entries: dict[Reason, ResolvedReason] = {}
    notes: list[str] = []
    problems: list[str] = []
    for reason in Reason:
        target = wanted[reason]
        category = by_name.get(_norm(target.category))
        if category is None:
            known = ", ".join(c.name for c in cats) or "none loaded"
            origin = f"{SETTING} " if overrides and reason in overrides else ""
            problems.append(f"{origin}{reason.value}: no report category named "
                            f"{target.category!r} (known: {known})")
            continue
        chosen = category.reason_named(target.reason) if target.reason else None
        exact = chosen is not None or target.reason is None
        if chosen is None and target.reason is not None and reason in (overrides or {}):
            # An operator's typo must not quietly become "Other".
            names = ", ".join(r.name for r in category.reasons)
            problems.append(f"{SETTING} {reason.value}: {category.name} has no reason "
                            f"{target.reason!r} (known: {names})")
            continue
        if chosen is None:
            chosen = category.other()
            if chosen is None:
                problems.append(f"{reason.value}: category {category.name!r} has neither "
                                f"{target.reason!r} nor Other")
                continue
            if target.reason is not None:
                notes.append(f"{reason.value}: {category.name} has no reason "
                             f"{target.reason!r}; using Other")
        entries[reason] = ResolvedReason(category.hash, category.name, chosen.hash,
                                         chosen.name, exact)
    if problems:
        raise ReasonMapError("; ".join(problems))
    for note in notes:
        log.warning("Bungie report reasons: %s", note)
    return ReasonTable(entries=entries, categories=cats, manifest_version=manifest_version,
                       source=source, notes=tuple(notes))


# ---- loading ---------------------------------------------------------------------------

def snapshot_categories() -> list[ReportCategory]:
    """The packaged copy of the manifest table (see its ``_source`` for provenance)."""
    text = resources.files("bot.apis.bungie").joinpath(SNAPSHOT_RESOURCE).read_text("utf-8")
    table = json.loads(text)[REPORT_CATEGORY_ENTITY]
    return [ReportCategory.from_definition(raw) for raw in table.values()]


def snapshot_table(overrides: Mapping[Reason, ReasonTarget] | None = None) -> ReasonTable:
    return resolve_reason_map(snapshot_categories(), overrides, source="snapshot")


async def load_categories(client: BungieClient, language: str) -> list[ReportCategory]:
    """The report categories (with their reasons) as Bungie words them in ``language``
    (a manifest language: ``de``, ``es-mx``...), fetched with ``lc``. Raises ``ApiError``
    when Bungie cannot be read; a category gone from the manifest is left out."""
    found: list[ReportCategory] = []
    for known in snapshot_categories():
        try:
            raw = await client.get_manifest_entity(REPORT_CATEGORY_ENTITY, known.hash, language)
        except NotFound:
            continue
        found.append(ReportCategory.from_definition(raw))
    return found


def categories_json(categories: Iterable[ReportCategory]) -> list[dict[str, Any]]:
    return [{**asdict(c), "reasons": [asdict(r) for r in c.reasons]} for c in categories]


def categories_from_json(raw: Iterable[Mapping[str, Any]]) -> tuple[ReportCategory, ...]:
    return tuple(
        ReportCategory(
            hash=int(c["hash"]), name=str(c["name"]), description=str(c["description"]),
            index=int(c["index"]),
            reasons=tuple(ReportReasonDef(int(r["hash"]), str(r["name"])) for r in c["reasons"]),
        )
        for c in raw
    )


async def load_reason_table(
    client: BungieClient,
    *,
    overrides: Mapping[Reason, ReasonTarget] | None = None,
    manifest_version: str | None = None,
) -> ReasonTable:
    """Resolve against the live manifest, falling back to the packaged snapshot when
    Bungie cannot be read. The entity endpoint needs a hash, so the categories
    looked up are the snapshot's nine; a category Bungie added since is not seen.

    Pass ``manifest_version`` when the caller already fetched it (to check its cache).
    An operator override that fits neither table raises ``ReasonMapError``.
    """
    try:
        version = manifest_version or await client.get_manifest_version()
        live: list[ReportCategory] = []
        for known in snapshot_categories():
            try:
                raw = await client.get_manifest_entity(REPORT_CATEGORY_ENTITY, known.hash)
            except NotFound:
                log.warning("Bungie report category %s (%s) is gone from the manifest",
                            known.hash, known.name)
                continue
            live.append(ReportCategory.from_definition(raw))
    except (ApiError, ReasonMapError) as exc:
        log.warning("Bungie report reasons: live manifest unavailable (%s); "
                    "using the packaged snapshot", exc)
        return snapshot_table(overrides)
    try:
        return resolve_reason_map(live, overrides, manifest_version=version, source="live")
    except ReasonMapError as exc:
        # Category hashes have been stable for years, so the snapshot's are a safer
        # bet than refusing to report at all; the operator still sees why.
        log.error("Bungie report reasons: live table does not fit (%s); "
                  "using the packaged snapshot", exc)
        return snapshot_table(overrides)
