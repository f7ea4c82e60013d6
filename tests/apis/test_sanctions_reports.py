"""Sanctions client: creating, listing and finding reports; player look-ups; validation
before sending; how each upstream refusal surfaces."""

from __future__ import annotations

from uuid import UUID, uuid4

import httpx
import pytest

from bot.apis.errors import InvalidRequest, MissingPermission, NotFound
from bot.apis.sanctions import (
    WARDEN_REPORT_ID_KEY,
    CreateReport,
    LookupPlatform,
    SanctionsClient,
)
from bot.domain import GamePlatform, Reason
from tests.standins.sanctions import (
    ME_SENT_REPORTS_ROUTE,
    REPORTS_ROUTE,
    FakeTime,
    Player,
    SanctionsStandin,
    client_for,
)


@pytest.fixture
def alice(standin: SanctionsStandin) -> Player:
    return standin.add_player("Alice", identities={"Steam": "76561198000000001"})


@pytest.fixture
def bob(standin: SanctionsStandin) -> Player:
    return standin.add_player("Bob", identities={"Epic": "epic-bob"})


def report_by(source: Player | None, warden_id: str = "w-1", **fields: object) -> CreateReport:
    return CreateReport(
        reason=Reason.CHEATING,
        source_player_uuid=None if source is None else source.uuid,
        custom_data={WARDEN_REPORT_ID_KEY: warden_id},
        **fields,
    )


async def test_service_token_report_names_the_source(
    client: SanctionsClient, standin: SanctionsStandin, alice: Player, bob: Player
) -> None:
    result = await client.create_report(
        bob.uuid,
        report_by(
            alice,
            description="aimbot in round 3",
            match_id="m-9",
            session_id="s-1",
            instance_id="i-2",
            match_segment="round-3",
        ),
    )
    assert result.target_player_uuid == bob.uuid
    assert result.source_player_uuid == alice.uuid
    assert result.reason is Reason.CHEATING
    assert result.warden_report_id == "w-1"
    assert result.match_id == "m-9" and result.created is not None
    assert [r["report_id"] for r in standin.reports] == [result.report_id]

    (token_request,) = standin.requests_to("/users/v2/oauth/token")
    assert token_request.headers["authorization"].startswith("Basic ")
    assert token_request.json == {"grant_type": "client_credentials"}
    (create,) = standin.requests_to(REPORTS_ROUTE, "POST")
    assert create.headers["authorization"].startswith("Bearer ")
    assert create.json["source_player_uuid"] == str(alice.uuid)
    assert "refresh_token" not in repr(result)


async def test_player_token_report_needs_no_source(
    client: SanctionsClient, standin: SanctionsStandin, alice: Player, bob: Player
) -> None:
    tokens = standin.issue_tokens(alice)
    result = await client.create_report(bob.uuid, report_by(None), player_token=tokens.access_token)
    assert result.source_player_uuid == alice.uuid
    assert standin.service_token_requests == 0
    (create,) = standin.requests_to(REPORTS_ROUTE, "POST")
    assert create.headers["authorization"] == f"Bearer {tokens.access_token}"
    assert "source_player_uuid" not in create.json


@pytest.mark.parametrize(
    ("fields", "player_token", "field"),
    [
        ({"description": ""}, None, "description"),
        ({"description": "x" * 4097}, None, "description"),
        ({"custom_data": {"warden_report_id": "w", "note": ""}}, None, "custom_data.note"),
        ({"custom_data": {"warden_report_id": "w" * 4097}}, None, "custom_data.warden_report_id"),
        ({"source_player_uuid": None}, None, "source_player_uuid"),
    ],
)
async def test_invalid_report_is_refused_before_sending(
    client: SanctionsClient,
    standin: SanctionsStandin,
    alice: Player,
    bob: Player,
    fields: dict[str, object],
    player_token: str | None,
    field: str,
) -> None:
    base = report_by(alice).model_dump()
    base.update(fields)
    with pytest.raises(InvalidRequest) as caught:
        await client.create_report(bob.uuid, CreateReport(**base), player_token=player_token)
    assert caught.value.field == field
    assert standin.requests == []  # not even a token request


async def test_boundary_lengths_are_accepted(
    client: SanctionsClient, standin: SanctionsStandin, alice: Player, bob: Player
) -> None:
    report = report_by(alice, description="x" * 4096)
    await client.create_report(bob.uuid, report)
    assert len(standin.reports[0]["description"]) == 4096


async def test_missing_permission(http: httpx.AsyncClient, fake_time: FakeTime) -> None:
    async with SanctionsStandin(service_permissions=["sanction:report:create:self"]) as rh:
        alice, bob = rh.add_player("Alice"), rh.add_player("Bob")
        client = client_for(rh, http, fake_time)
        with pytest.raises(MissingPermission) as caught:
            await client.create_report(bob.uuid, report_by(alice))
    assert caught.value.code == "insufficient_permissions"
    assert caught.value.status == 403
    assert rh.reports == []
    assert rh.count("POST", REPORTS_ROUTE) == 1  # a refusal is final, not retried


async def test_unknown_target_is_not_found(
    client: SanctionsClient, standin: SanctionsStandin, alice: Player
) -> None:
    ghost = uuid4()
    with pytest.raises(NotFound) as caught:
        await client.create_report(ghost, report_by(alice))
    assert caught.value.code == "player_not_found"
    assert str(ghost) in str(caught.value)


async def test_upstream_validation_names_the_field(
    client: SanctionsClient, standin: SanctionsStandin, alice: Player, bob: Player
) -> None:
    standin.inject(
        "respond",
        status=422,
        method="POST",
        path=REPORTS_ROUTE,
        body={
            "detail": [
                {
                    "loc": ["body", "custom_data", "warden_report_id"],
                    "msg": "String should have at most 4096 characters",
                    "type": "string_too_long",
                },
            ]
        },
    )
    with pytest.raises(InvalidRequest) as caught:
        await client.create_report(bob.uuid, report_by(alice))
    assert caught.value.field == "custom_data.warden_report_id"
    assert caught.value.code == "string_too_long"
    assert "4096" in str(caught.value)


async def test_upstream_source_player_required(
    client: SanctionsClient, standin: SanctionsStandin, alice: Player, bob: Player
) -> None:
    standin.inject(
        "respond",
        status=400,
        method="POST",
        path=REPORTS_ROUTE,
        body={
            "auth_success": True,
            "error_code": "source_player_required",
            "desc": "Source Player must be provided in request or with a user token",
        },
    )
    with pytest.raises(InvalidRequest) as caught:
        await client.create_report(bob.uuid, report_by(alice))
    assert caught.value.field == "source_player_uuid"


async def test_sent_reports_paging_visits_each_report_once(
    client: SanctionsClient, standin: SanctionsStandin, alice: Player, bob: Player
) -> None:
    for i in range(23):
        await client.create_report(bob.uuid, report_by(alice, warden_id=f"w-{i}"))
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await client.list_sent_reports(alice.uuid, cursor, page_size=5)
        pages += 1
        seen.extend(r.warden_report_id or "" for r in page.reports)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 5
    assert sorted(seen) == sorted(f"w-{i}" for i in range(23))
    assert seen[0] == "w-22"  # the stand-in lists newest first


async def test_sent_reports_for_me_need_a_player_token(
    client: SanctionsClient, standin: SanctionsStandin, alice: Player, bob: Player
) -> None:
    tokens = standin.issue_tokens(alice)
    await client.create_report(bob.uuid, report_by(None), player_token=tokens.access_token)
    page = await client.list_sent_reports("me", player_token=tokens.access_token)
    assert [r.source_player_uuid for r in page.reports] == [alice.uuid]
    assert standin.count("GET", ME_SENT_REPORTS_ROUTE) == 1
    with pytest.raises(InvalidRequest):
        await client.list_sent_reports("me")


async def test_find_sent_report_reads_every_page(
    client: SanctionsClient, standin: SanctionsStandin, alice: Player, bob: Player
) -> None:
    for i in range(12):
        await client.create_report(bob.uuid, report_by(alice, warden_id=f"w-{i}"))
    small_pages = client_for(standin, client._http, FakeTime(), reconcile_page_size=5)
    found = await small_pages.find_sent_report(alice.uuid, "w-0")
    assert found is not None and found.warden_report_id == "w-0"
    assert await small_pages.find_sent_report(alice.uuid, "w-unknown") is None


async def test_find_sent_report_with_player_token(
    client: SanctionsClient, standin: SanctionsStandin, alice: Player, bob: Player
) -> None:
    tokens = standin.issue_tokens(alice)
    await client.create_report(
        bob.uuid, report_by(None, warden_id="mine"), player_token=tokens.access_token
    )
    found = await client.find_sent_report(alice.uuid, "mine", player_token=tokens.access_token)
    assert found is not None and found.source_player_uuid == alice.uuid


async def test_lookup_by_display_name_returns_every_match(
    client: SanctionsClient, standin: SanctionsStandin
) -> None:
    first = standin.add_player("Shared")
    second = standin.add_player("Shared")
    refs = await client.lookup_players_by_display_name("Shared")
    assert {r.player_uuid for r in refs} == {first.uuid, second.uuid}
    assert all(r.display_name == "Shared" for r in refs)
    assert await client.lookup_players_by_display_name("Nobody") == []
    (request, *_) = standin.requests_to("/users/v1/player", "GET")
    assert request.query == {"display_name": ["Shared"]}


async def test_lookup_display_name_length_checked(client: SanctionsClient) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await client.lookup_players_by_display_name("n" * 257)
    assert caught.value.field == "display_name"


async def test_lookup_by_platform(
    client: SanctionsClient, standin: SanctionsStandin, alice: Player, bob: Player
) -> None:
    ref = await client.lookup_player_by_platform(LookupPlatform.STEAM, "76561198000000001")
    assert ref is not None and ref.player_uuid == alice.uuid
    assert ref.platform == LookupPlatform.STEAM
    # An OAuth portal name is translated to the look-up platform.
    ref = await client.lookup_player_by_platform(GamePlatform.EPIC, "epic-bob")
    assert ref is not None and ref.player_uuid == bob.uuid
    assert await client.lookup_player_by_platform(LookupPlatform.STEAM, "nope") is None
    queries = [r.query for r in standin.requests_to("/users/v1/player", "GET")]
    assert queries[1] == {"platform": ["Epic"], "identities": ["epic-bob"]}


async def test_report_against_nil_uuid_format(client: SanctionsClient, alice: Player) -> None:
    with pytest.raises(NotFound):
        await client.create_report(UUID(int=0), report_by(alice))
