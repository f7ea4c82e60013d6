"""Services built outside ``open_app`` for tests that exercise one service on its own:
the same destination registry the app builds, from the same factories."""

from __future__ import annotations

from bot.apis.bungie import BungieClient
from bot.apis.sanctions import SanctionsClient
from bot.metrics import WardenMetrics
from bot.notify import Notifier
from bot.services.delivery.bungie_mode import BungieMode
from bot.services.delivery.destinations import BUILT_IN
from bot.services.delivery.registry import (
    DestinationContext,
    DestinationFactory,
    DestinationRegistry,
)
from bot.services.linking.service import LinkingService
from bot.settings import Settings
from bot.store import Store


def destination_registry(
    settings: Settings,
    store: Store,
    notifier: Notifier,
    *,
    bungie: BungieClient | None = None,
    sanctions: SanctionsClient | None = None,
    linking: LinkingService | None = None,
    factories: tuple[DestinationFactory, ...] = BUILT_IN,
) -> DestinationRegistry:
    context = DestinationContext(
        settings=settings, store=store, notifier=notifier, metrics=WardenMetrics(),
        bungie=bungie, sanctions=sanctions, linking=linking,
        bungie_mode=BungieMode(store, settings, linking=linking is not None),
    )
    return DestinationRegistry([make(context) for make in factories])
