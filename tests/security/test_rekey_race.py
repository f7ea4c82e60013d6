"""Issue 12 item 7: ``python -m bot rekey`` while Warden runs. A token refresh in flight
when rekey re-encrypts the link must still store Bungie's new single-use refresh token
(under the current key), or the link dies at its next refresh."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.crypto import TokenBox, generate_key
from bot.domain import Provider
from bot.store.links import LinkStatus
from tests.linking_rig import open_rig
from tests.standins.bungie import TOKEN_PATH, BungieStandin


def _refreshes(bungie: BungieStandin) -> int:
    requests = bungie.requests_to(TOKEN_PATH, "POST")
    return sum(1 for r in requests if r.form and r.form.get("grant_type") == "refresh_token")


async def test_a_refresh_in_flight_during_rekey_keeps_the_new_refresh_token(
    tmp_path: Path,
) -> None:
    old, new = generate_key(), generate_key()
    # The runbook: Warden runs with the new key in front of the old one, then rekey.
    async with open_rig(tmp_path, keys=[new, old]) as rig:
        alice = rig.bungie.add_account("Alice", 1234)
        assert (await rig.link_bungie(1001, alice)).status_code == 200
        # Tokens sealed before the rotation: under the old key.
        await rig.store.links.rekey(TokenBox([old, new]).rotate)

        rig.clock.advance(3600)  # the access token is due for a refresh
        rig.bungie.inject("slow", path=TOKEN_PATH, delay=0.3, landed=True)
        refreshing = asyncio.create_task(rig.service.access_token(1001, Provider.BUNGIE))
        for _ in range(200):  # until Bungie has the old refresh token
            if _refreshes(rig.bungie):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the refresh never reached Bungie")
        # `python -m bot rekey` (another process, same database) lands meanwhile.
        assert await rig.store.links.rekey(TokenBox([new, old]).rotate) == 2
        token = await refreshing

        memberships = await rig.bungie_client.get_memberships_for_current_user(token)
        assert memberships.bungie_net_membership_id == alice.bnet_id
        link = await rig.store.links.get(1001, Provider.BUNGIE)
        assert link is not None and link.status is LinkStatus.ACTIVE and link.tokens
        assert link.tokens.refresh_token is not None
        TokenBox([new]).open(link.tokens.refresh_token)  # sealed under the current key
        # The stored refresh token is the one Bungie issued last: the next refresh works.
        rig.clock.advance(3600)
        await rig.service.access_token(1001, Provider.BUNGIE)
        assert _refreshes(rig.bungie) == 2
        link = await rig.store.links.get(1001, Provider.BUNGIE)
        assert link is not None and link.status is LinkStatus.ACTIVE
