"""``python -m bot check``, second half: ask each configured API whether Warden's
credentials work, and name each problem with how to fix it."""

from __future__ import annotations

from contextlib import AsyncExitStack

from bot.apis.errors import ApiError, AuthError, MissingPermission
from bot.services.delivery.bungie_reasons import ReasonCatalog
from bot.settings import Settings
from bot.store import Store

Line = tuple[str, str, str]
OK, PROBLEM = "ok", "PROBLEM"


async def probe_apis(settings: Settings, store: Store) -> list[Line]:
    from bot.apis.bungie import parse_reason_map
    from bot.runtime import open_bungie, open_sanctions

    lines: list[Line] = []
    async with AsyncExitStack() as stack:
        bungie = open_bungie(settings, stack)
        if bungie is not None:
            try:
                await bungie.get_manifest_version()
            except AuthError as exc:
                lines.append((PROBLEM, "Bungie", f"API key refused ({exc.message}); copy the key "
                              "from https://www.bungie.net/en/Application into BUNGIE_API_KEY"))
            except ApiError as exc:
                lines.append((PROBLEM, "Bungie", f"cannot reach the API ({exc}); check "
                              "BUNGIE_API_BASE_URL and the network, or try again later"))
            else:
                lines.append((OK, "Bungie", "API key accepted"))
                overrides = parse_reason_map(settings.bungie_reason_map)
                table = await ReasonCatalog(bungie, store.kv, overrides).table()
                where = "live manifest" if table.source == "live" else "packaged snapshot"
                lines.append((OK, "Bungie report reasons",
                              f"loaded from the {where} (version {table.manifest_version})"))
        sanctions = open_sanctions(settings, stack)
        if sanctions is not None:
            try:
                result = await sanctions.probe()
            except MissingPermission as exc:
                lines.append((PROBLEM, "sanctions API", f"{exc.message}; ask the studio for "
                              "sanction:report:create:any and sanction:report:read:source-any"))
            except AuthError as exc:
                lines.append((PROBLEM, "sanctions API", f"service token refused ({exc.message}); "
                              "check SANCTIONS_CLIENT_ID and SANCTIONS_CLIENT_SECRET"))
            except ApiError as exc:
                lines.append((PROBLEM, "sanctions API", f"cannot reach the API ({exc}); check "
                              "SANCTIONS_API_BASE_URL and the network"))
            else:
                status = OK if result.ok else PROBLEM
                for text in result.lines():
                    lines.append((status, "sanctions API", text))
    return lines
