"""The Bungie stand-in refuses what the real one refuses (checked with raw HTTP, since
the client never sends these)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.standins.bungie import TOKEN_PATH, Account, BungieStandin


@pytest.fixture
async def world() -> AsyncIterator[tuple[BungieStandin, httpx.AsyncClient, dict[str, Any]]]:
    async with BungieStandin() as bungie, httpx.AsyncClient(base_url=bungie.base_url) as http:
        alice, bob = bungie.add_account("Alice", 1234), bungie.add_account("Bob", 42)
        state = {"alice": alice, "bob": bob, "activity": bungie.add_pgcr([alice, bob]),
                 "token": bungie.issue_tokens(alice).access_token}
        yield bungie, http, state


World = tuple[BungieStandin, httpx.AsyncClient, dict[str, Any]]


def code_of(answer: httpx.Response) -> int:
    body = answer.json()
    assert set(body) >= {"ErrorCode", "ThrottleSeconds", "ErrorStatus", "Message",
                         "MessageData"}
    return int(body["ErrorCode"])


async def test_api_key_is_required(world: tuple[BungieStandin, httpx.AsyncClient, Any]) -> None:
    bungie, http, _ = world
    assert code_of(await http.get("/Platform/Destiny2/Manifest/")) == 2101
    wrong = await http.get("/Platform/Destiny2/Manifest/", headers={"X-API-Key": "nope"})
    assert code_of(wrong) == 2101
    good = await http.get("/Platform/Destiny2/Manifest/", headers={"X-API-Key": bungie.api_key})
    assert code_of(good) == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", 7),
        (b"", 26),
        (b"[]", 18),
        (b'{"reasonCategoryHashes": ["1851805954"], "reasonHashes": [2352608786], '
         b'"offendingCharacterId": 1}', 18),
        (b'{"reasonCategoryHashes": [1851805954], "reasonHashes": [2352608786], '
         b'"offendingCharacterId": "1"}', 18),
        (b'{"reasonCategoryHashes": [], "reasonHashes": [2352608786], '
         b'"offendingCharacterId": 1}', 18),
        (b'{"reasonCategoryHashes": [1], "reasonHashes": [2352608786], '
         b'"offendingCharacterId": 1}', 18),
    ],
)
async def test_report_body_types_are_checked(
    world: tuple[BungieStandin, httpx.AsyncClient, dict[str, Any]], body: bytes, code: int
) -> None:
    bungie, http, state = world
    answer = await http.post(
        f"/Platform/Destiny2/Stats/PostGameCarnageReport/{state['activity']}/Report/",
        content=body,
        headers={"X-API-Key": bungie.api_key, "Authorization": f"Bearer {state['token']}",
                 "Content-Type": "application/json"},
    )
    assert code_of(answer) == code
    assert answer.status_code == 400
    assert bungie.report_count == 0


async def test_a_repeat_of_a_report_that_landed_is_refused_1403(world: World) -> None:
    bungie, http, state = world
    valid = (b'{"reasonCategoryHashes": [1851805954], "reasonHashes": [2352608786], '
             b'"offendingCharacterId": %d}' % state["bob"].character_id)
    answers = [
        await http.post(
            f"/Platform/Destiny2/Stats/PostGameCarnageReport/{state['activity']}/Report/",
            content=valid,
            headers={"X-API-Key": bungie.api_key, "Authorization": f"Bearer {state['token']}",
                     "Content-Type": "application/json"},
        )
        for _ in range(2)
    ]
    assert [code_of(a) for a in answers] == [1, 1403]
    assert answers[1].json()["ErrorStatus"] == "ReportAlreadyReported"
    assert bungie.report_count == 1


async def test_path_ids_must_be_numbers(
    world: tuple[BungieStandin, httpx.AsyncClient, dict[str, Any]]
) -> None:
    bungie, http, _ = world
    answer = await http.get("/Platform/Destiny2/Stats/PostGameCarnageReport/abc/",
                            headers={"X-API-Key": bungie.api_key})
    assert code_of(answer) == 7


async def test_search_body_types_are_checked(
    world: tuple[BungieStandin, httpx.AsyncClient, dict[str, Any]]
) -> None:
    bungie, http, _ = world
    answer = await http.post("/Platform/Destiny2/SearchDestinyPlayerByBungieName/-1/",
                             json={"displayName": "Bob", "displayNameCode": "42"},
                             headers={"X-API-Key": bungie.api_key})
    assert code_of(answer) == 18


async def test_bearer_checks(world: World) -> None:
    bungie, http, state = world
    path = "/Platform/User/GetMembershipsForCurrentUser/"
    key = {"X-API-Key": bungie.api_key}
    assert code_of(await http.get(path, headers=key)) == 99
    assert code_of(await http.get(path, headers={**key, "Authorization": "Bearer x"})) == 99
    bungie.expire_access_tokens()
    expired = await http.get(path, headers={**key, "Authorization": f"Bearer {state['token']}"})
    assert code_of(expired) == 2111


async def test_profile_needs_components(
    world: tuple[BungieStandin, httpx.AsyncClient, dict[str, Any]]
) -> None:
    bungie, http, state = world
    alice: Account = state["alice"]
    path = f"/Platform/Destiny2/3/Profile/{alice.membership_id}/"
    key = {"X-API-Key": bungie.api_key}
    assert code_of(await http.get(path, headers=key)) == 18
    named = await http.get(path, headers=key, params={"components": "Characters"})
    assert list(named.json()["Response"]["characters"]["data"]) == [str(alice.character_id)]


async def test_token_endpoint_needs_a_form_and_client_auth(
    world: tuple[BungieStandin, httpx.AsyncClient, dict[str, Any]]
) -> None:
    bungie, http, _ = world
    as_json = await http.post(TOKEN_PATH, json={"grant_type": "refresh_token"})
    assert as_json.json()["error"] == "invalid_request"
    no_auth = await http.post(TOKEN_PATH, data={"grant_type": "refresh_token"})
    assert (no_auth.status_code, no_auth.json()["error"]) == (401, "invalid_client")
    odd = await http.post(TOKEN_PATH, data={"grant_type": "password"},
                          auth=(bungie.client_id, bungie.client_secret or ""))
    assert odd.json()["error"] == "unsupported_grant_type"


async def test_authorize_without_a_session_shows_the_login_page(
    world: tuple[BungieStandin, httpx.AsyncClient, dict[str, Any]]
) -> None:
    bungie, http, _ = world
    query = {"client_id": bungie.client_id, "response_type": "code", "state": "s"}
    page = await http.get("/en/OAuth/Authorize", params=query)
    assert page.status_code == 200 and "Sign in" in page.text
    bad = await http.get("/en/OAuth/Authorize", params={**query, "client_id": "other"})
    assert bad.status_code == 400


async def test_faults_match_paths_and_run_out(
    world: tuple[BungieStandin, httpx.AsyncClient, dict[str, Any]]
) -> None:
    bungie, http, _ = world
    key = {"X-API-Key": bungie.api_key}
    bungie.inject("throttle", count=2, path="/Manifest/", throttle_seconds=5)
    assert code_of(await http.get("/Platform/User/GetMembershipsForCurrentUser/",
                                  headers=key)) == 99  # other paths unaffected
    first = (await http.get("/Platform/Destiny2/Manifest/", headers=key)).json()
    assert (first["ErrorCode"], first["ThrottleSeconds"]) == (36, 5)
    assert code_of(await http.get("/Platform/Destiny2/Manifest/", headers=key)) == 36
    assert code_of(await http.get("/Platform/Destiny2/Manifest/", headers=key)) == 1
    assert bungie.faults == []
    with pytest.raises(ValueError):
        bungie.inject("explode")


async def test_recording_can_be_switched_off() -> None:
    async with BungieStandin(record=False) as bungie, httpx.AsyncClient() as http:
        await http.get(f"{bungie.api_base_url}/Destiny2/Manifest/")
        assert bungie.requests == []
