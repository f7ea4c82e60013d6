"""The destination registry: every place a report can be forwarded to, described once.

A destination (Bungie.net, the game backend) is one ``DestinationSpec``: its key (the
``deliveries.destination`` column), the one name a person reads, whether the operator
configured it, how a report is planned for it, the sender the outbox calls, its probe
for ``python -m bot check`` and its line in ``/warden setup``. Everything that would
otherwise branch on "bungie" or "sanctions" asks the registry.

Adding a destination: a client package in ``bot/apis/``, a module here with its sender
and its ``DestinationFactory``, a line in ``bot.services.delivery.destinations.BUILT_IN``,
and its settings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass

from bot.apis.bungie import BungieClient
from bot.apis.sanctions import SanctionsClient
from bot.domain import NewReport, Provider
from bot.i18n import Items, t
from bot.metrics import WardenMetrics
from bot.notify import Notifier
from bot.services.delivery.bungie_mode import BungieMode
from bot.services.delivery.outbox import Sender
from bot.services.linking.service import LinkingService
from bot.services.status import CheckItem, CheckState
from bot.settings import Settings
from bot.store import Store

DestinationNames = Callable[[str | None], str]
"""``DestinationRegistry.name``: a delivery's destination as a person reads it."""


@dataclass(frozen=True)
class PlannedDelivery:
    """Whether a report goes to one destination, and if not, what would make it."""

    destination: str
    label: str
    """The destination's name, as the member reads it."""
    included: bool
    why_not: str | None = None
    """For the member: what would make it possible."""
    missing_link: Provider | None = None
    note: str | None = None
    """How it will go, when the member has something to do (a hand-off link)."""


@dataclass(frozen=True)
class DestinationSpec:
    key: str
    name: str
    configured: bool
    plan: Callable[[NewReport], Awaitable[PlannedDelivery]]
    """Decided from the report alone: the draft's summary and the acceptance that writes
    the delivery rows cannot disagree."""
    sender: Sender | None
    """None when not configured."""
    probe: Callable[[], Awaitable[list[CheckItem]]]
    """For ``python -m bot check``: do Warden's credentials work?"""
    setup_item: Callable[[], Awaitable[CheckItem]]
    """For ``/warden setup``: what this destination does here, or how to enable it."""
    links: tuple[Provider, ...] = ()
    """Account links that let a member's reports reach it."""
    filed_as: Callable[[NewReport, str], Awaitable[str | None]] | None = None
    """How it files a report, in its own words and a Bungie manifest language (Bungie's
    category and reason): the member sees it in the draft."""


@dataclass(frozen=True)
class DestinationContext:
    """What a destination may be built from: everything is built once, at start-up."""

    settings: Settings
    store: Store
    notifier: Notifier
    metrics: WardenMetrics
    bungie: BungieClient | None
    sanctions: SanctionsClient | None
    linking: LinkingService | None
    bungie_mode: BungieMode


DestinationFactory = Callable[[DestinationContext], DestinationSpec]


def unconfigured(key: str, name: str, *, detail: str, fix: str) -> DestinationSpec:
    """A destination the operator has not set up: planned nowhere, shown with ``fix``."""

    async def plan(report: NewReport) -> PlannedDelivery:
        return PlannedDelivery(key, name, False, t("not configured on this Warden"))

    async def probe() -> list[CheckItem]:
        return [CheckItem(CheckState.INFO, name, f"disabled: {fix}")]

    async def setup_item() -> CheckItem:
        return CheckItem(CheckState.INFO, name, t("not configured: {detail}", detail=detail),
                         t("The bot's operator can {fix}.", fix=fix))

    return DestinationSpec(key=key, name=name, configured=False, plan=plan, sender=None,
                           probe=probe, setup_item=setup_item)


class DestinationRegistry:
    """The destinations of this installation, in the order members read them."""

    def __init__(self, specs: Sequence[DestinationSpec]) -> None:
        keys = [s.key for s in specs]
        if len(set(keys)) != len(keys):
            raise ValueError(f"destination keys must be unique, got {keys}")
        self._specs = tuple(specs)
        self._by_key = {s.key: s for s in specs}

    def __iter__(self) -> Iterator[DestinationSpec]:
        return iter(self._specs)

    @property
    def configured(self) -> tuple[DestinationSpec, ...]:
        return tuple(s for s in self._specs if s.configured)

    @property
    def configured_keys(self) -> list[str]:
        return [s.key for s in self.configured]

    def senders(self) -> list[Sender]:
        return [s.sender for s in self.configured if s.sender is not None]

    def name(self, key: str | None) -> str:
        """The name a person reads; an unknown key (a destination since removed) as is."""
        if key is None:
            return t("a destination")
        spec = self._by_key.get(key)
        return spec.name if spec is not None else key

    def links(self) -> list[Provider]:
        """Account links some configured destination can use, in a stable order."""
        found: list[Provider] = []
        for spec in self.configured:
            found += [p for p in spec.links if p not in found]
        return found

    async def plan(self, report: NewReport) -> tuple[PlannedDelivery, ...]:
        """One entry per configured destination, included or with the reason it is not."""
        return tuple([await s.plan(report) for s in self.configured])

    async def filed_as(self, report: NewReport, plan: Sequence[PlannedDelivery],
                       language: str) -> tuple[tuple[str, str], ...]:
        """(destination name, how it files the report) for each included destination that
        says, in ``language`` (a Bungie manifest language)."""
        shown = []
        for step in plan:
            spec = self._by_key.get(step.destination)
            if step.included and spec is not None and spec.filed_as is not None:
                words = await spec.filed_as(report, language)
                if words:
                    shown.append((spec.name, words))
        return tuple(shown)

    async def setup_items(self) -> list[CheckItem]:
        items = [await s.setup_item() for s in self._specs]
        if not self.configured:
            names = Items(s.name for s in self._specs) if self._specs else t("a destination")
            items.append(CheckItem(
                CheckState.PROBLEM, t("Destinations"),
                t('no destination is configured: reports are only stored here.'),
                t("Ask the bot's operator to configure {names}.", names=names),
            ))
        return items

    async def probes(self) -> list[CheckItem]:
        return [item for s in self._specs for item in await s.probe()]
