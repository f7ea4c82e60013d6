"""The destinations Warden ships with, in the order members read them."""

from __future__ import annotations

from bot.services.delivery.bungie import bungie_destination
from bot.services.delivery.registry import DestinationFactory
from bot.services.delivery.sanctions import sanctions_destination

BUILT_IN: tuple[DestinationFactory, ...] = (bungie_destination, sanctions_destination)
