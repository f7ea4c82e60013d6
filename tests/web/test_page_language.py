"""The OAuth pages speak the browser's language; a browser that states none gets the
member's last seen Discord locale."""

from __future__ import annotations

from bot.domain import Provider
from tests.i18n.fake_catalogs import translated
from tests.linking_rig import Rig

LINKING = "You are linking {label} to {discord_name} on Discord"


async def test_without_accept_language_the_members_locale_is_used(rig: Rig) -> None:
    with translated("de", {LINKING: "Du verknüpfst {label} mit {discord_name} auf Discord"}), \
            translated("fr", {LINKING: "Vous liez {label} à {discord_name} sur Discord"}):
        await rig.store.locales.remember(1001, "de")
        browser = await rig.browser()
        page = await browser.open(await rig.start_url(1001, Provider.BUNGIE,
                                                      discord_name="@alice"))
        assert "Du verknüpfst Bungie.net mit @alice auf Discord" in page.text
        assert '<html lang="de">' in page.text

        # The browser's own language wins when Warden has it.
        french = await browser.http.get(
            await rig.start_url(1001, Provider.BUNGIE, discord_name="@alice"),
            headers={"Accept-Language": "fr-FR,fr;q=0.9"})
        assert "Vous liez Bungie.net à @alice sur Discord" in french.text

        # A member Warden has never seen: English.
        other = await browser.open(await rig.start_url(3003, Provider.BUNGIE,
                                                       discord_name="@carol"))
        assert "You are linking Bungie.net to @carol on Discord" in other.text
