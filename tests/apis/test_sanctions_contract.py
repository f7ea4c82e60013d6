"""The sanctions client and its stand-in against the published spec.

Every request the client sends is matched to an operation of
``rallyhere-openapi-subset.json``: its query names must be declared and its JSON body
must validate against the operation's request schema. Every answer the stand-in gives
with a documented status must validate against the response schema, which is what
makes the stand-in worth testing against. Enums shared with Warden are compared too.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import httpx
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bot.apis.errors import AmbiguousSend
from bot.apis.http import build_http_client
from bot.apis.sanctions import WARDEN_REPORT_ID_KEY, CreateReport, LookupPlatform
from bot.domain import GamePlatform, Reason
from tests.standins import sanctions as standin_module
from tests.standins.sanctions import REPORTS_ROUTE, FakeTime, Recorded, SanctionsStandin, client_for

SPECS = Path(__file__).resolve().parents[2] / ".." / "shared" / "specs"
SPEC_FILE = SPECS / "rallyhere-openapi-subset.json"
SPEC_URI = "urn:rallyhere-openapi-subset"
CALLBACK = "https://warden.test/oauth/game/callback"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC_FILE.is_file():
        pytest.skip(f"spec not found at {SPEC_FILE} (the shared specs live beside the repo)")
    loaded: dict[str, Any] = json.loads(SPEC_FILE.read_text("utf-8"))
    return loaded


@pytest.fixture(scope="module")
def registry(spec: dict[str, Any]) -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(spec, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


def validator(registry: Registry[Any], schema: dict[str, Any]) -> Draft202012Validator:
    ref = schema.get("$ref")
    assert isinstance(ref, str) and ref.startswith("#/"), f"inline schema not expected: {schema}"
    return Draft202012Validator(
        {"$ref": SPEC_URI + ref},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def component(registry: Registry[Any], name: str) -> Draft202012Validator:
    return validator(registry, {"$ref": f"#/components/schemas/{name}"})


def operations(spec: dict[str, Any]) -> list[tuple[str, re.Pattern[str], str, dict[str, Any]]]:
    found = []
    for template, item in spec["paths"].items():
        pattern = re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$")
        for method, operation in item.items():
            found.append((method.upper(), pattern, template, operation))
    # Literal segments ("me") before parameters, as the server routes them.
    found.sort(key=lambda o: o[2].count("{"))
    return found


def operation_for(spec: dict[str, Any], request: Recorded) -> tuple[str, dict[str, Any]]:
    for method, pattern, template, operation in operations(spec):
        if method == request.method and pattern.match(request.path):
            return template, operation
    raise AssertionError(f"{request.method} {request.path} is not an operation of the spec")


async def drive_every_operation(standin: SanctionsStandin, http: httpx.AsyncClient) -> None:
    """Use each client method at least once, including the reconcile path."""
    client = client_for(standin, http, FakeTime())
    alice = standin.add_player("Alice", identities={"Steam": "7656-a", "Discord": "4242"})
    bob = standin.add_player("Bob")

    full = CreateReport(
        reason=Reason.STREAM_SNIPING,
        source_player_uuid=alice.uuid,
        description="sniped",
        session_id="s",
        instance_id="i",
        match_id="m",
        match_segment="seg",
        custom_data={WARDEN_REPORT_ID_KEY: "w-full", "guild": "123"},
    )
    await client.create_report(bob.uuid, full)
    standin.inject("drop", method="POST", path=REPORTS_ROUTE)
    await client.create_report(
        bob.uuid,
        CreateReport(
            reason=Reason.OTHER,
            source_player_uuid=alice.uuid,
            custom_data={WARDEN_REPORT_ID_KEY: "w-drop"},
        ),
    )
    page = await client.list_sent_reports(alice.uuid, page_size=1)
    await client.list_sent_reports(alice.uuid, page.next_cursor, page_size=1)
    await client.find_sent_report(alice.uuid, "w-none")
    await client.lookup_players_by_display_name("Alice")
    await client.lookup_player_by_platform(LookupPlatform.STEAM, "7656-a")
    assert await client.get_player_id(alice.uuid) == alice.player_id
    assert await client.get_player_id(uuid4()) is None
    found = await client.find_platform_user(LookupPlatform.DISCORD, "4242")
    assert found is not None and found.player_uuid == alice.uuid
    assert await client.find_platform_user(LookupPlatform.DISCORD, "4243") is None
    await client.probe()

    standin.login_as(alice)
    location = (await http.get(client.authorize_url(GamePlatform.STEAM, CALLBACK, "st"))).headers[
        "location"
    ]
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    tokens = await client.exchange_code(client.parse_callback(params).code)
    assert tokens.refresh_token is not None
    tokens = await client.refresh_player(tokens.refresh_token)
    await client.get_my_player_uuid(tokens.access_token)
    await client.get_my_profile(tokens.access_token)
    await client.create_report(
        bob.uuid,
        CreateReport(reason=Reason.AFK, custom_data={WARDEN_REPORT_ID_KEY: "w-me"}),
        player_token=tokens.access_token,
    )
    await client.list_sent_reports("me", player_token=tokens.access_token)
    standin.inject("drop", path="/users/v1/login")
    assert tokens.refresh_token is not None
    with pytest.raises(AmbiguousSend):
        await client.refresh_player(tokens.refresh_token)


@pytest.fixture(scope="module")
def recorded(spec: dict[str, Any]) -> list[Recorded]:
    """One recorded session shared by the checks below (its own loop: module scope)."""

    async def session() -> list[Recorded]:
        async with (
            SanctionsStandin(redirect_uris=[CALLBACK]) as standin,
            build_http_client(connect_timeout=2, read_timeout=5, user_agent="warden-tests") as http,
        ):
            await drive_every_operation(standin, http)
            return list(standin.requests)

    return asyncio.run(session())


def test_every_operation_was_exercised(spec: dict[str, Any], recorded: list[Recorded]) -> None:
    used = {(r.method, operation_for(spec, r)[0]) for r in recorded}
    expected = {
        ("POST", "/users/v2/oauth/token"),
        ("POST", "/sanctions/v2/player/{player_uuid}/reports"),
        ("GET", "/sanctions/v2/player/{player_uuid}/sent-reports"),
        ("GET", "/sanctions/v2/player/me/sent-reports"),
        ("GET", "/users/v1/player"),
        ("GET", "/users/v1/oauth/login/{platform}"),
        ("POST", "/users/v1/oauth/token"),
        ("POST", "/users/v1/login"),
        ("GET", "/users/v2/player/me/uuid"),
        ("GET", "/users/v2/player/me/links"),
        ("GET", "/users/v2/player/{player_uuid}/id"),
        ("GET", "/users/v1/platform-user"),
    }
    assert expected <= used


def test_request_bodies_match_the_spec(
    spec: dict[str, Any], registry: Registry[Any], recorded: list[Recorded]
) -> None:
    checked: set[str] = set()
    for request in recorded:
        template, operation = operation_for(spec, request)
        body_spec = operation.get("requestBody")
        if body_spec is None:
            assert request.json is None, f"{request.method} {template} takes no body"
            continue
        schema = body_spec["content"]["application/json"]["schema"]
        errors = sorted(validator(registry, schema).iter_errors(request.json), key=str)
        assert not errors, f"{request.method} {template}: {[e.message for e in errors]}"
        assert request.headers["content-type"] == "application/json"
        checked.add(template)
    assert checked == {
        "/users/v2/oauth/token",
        "/sanctions/v2/player/{player_uuid}/reports",
        "/users/v1/oauth/token",
        "/users/v1/login",
    }


def test_query_parameters_are_declared(spec: dict[str, Any], recorded: list[Recorded]) -> None:
    for request in recorded:
        template, operation = operation_for(spec, request)
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert set(request.query) <= declared, f"{template}: {set(request.query) - declared}"


def test_credentials_follow_the_security_scheme(
    spec: dict[str, Any], recorded: list[Recorded]
) -> None:
    for request in recorded:
        template, operation = operation_for(spec, request)
        schemes = {name for entry in operation.get("security", []) for name in entry}
        auth = request.headers.get("authorization", "")
        if "HTTPBasic" in schemes:
            assert auth.startswith("Basic "), template
        elif "HTTPBearerHeadersOrCookie" in schemes:
            assert auth.startswith("Bearer "), template
        else:
            assert not auth, f"{template} is opened by a browser, not the bot"


def test_standin_answers_match_the_spec(
    spec: dict[str, Any], registry: Registry[Any], recorded: list[Recorded]
) -> None:
    checked = 0
    for request in recorded:
        if request.dropped or request.status is None:
            continue
        template, operation = operation_for(spec, request)
        documented = operation["responses"].get(str(request.status))
        assert documented is not None or request.status in (401,), (
            f"{template} answered an undocumented {request.status}"
        )
        content = (documented or {}).get("content", {}).get("application/json")
        if content is None:
            continue
        errors = sorted(
            validator(registry, content["schema"]).iter_errors(request.response), key=str
        )
        assert not errors, f"{template} {request.status}: {[e.message for e in errors]}"
        checked += 1
    assert checked >= 10


def test_client_bodies_in_isolation(registry: Registry[Any]) -> None:
    minimal = CreateReport(reason=Reason.CHEATING).to_body()
    assert minimal == {"reason": "cheating"}
    create = component(registry, "PlayerReportCreate")
    assert not list(create.iter_errors(minimal))
    for reason in Reason:
        assert not list(create.iter_errors(CreateReport(reason=reason).to_body()))


def test_enums_match_the_spec(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert [r.value for r in Reason] == schemas["ReportReason"]["enum"]
    assert {p.value for p in GamePlatform} == set(schemas["OAuthPortal"]["enum"])
    assert {p.value for p in LookupPlatform} == set(schemas["Platform"]["enum"])
    assert standin_module.REASONS == set(schemas["ReportReason"]["enum"])
    assert standin_module.OAUTH_PORTALS == set(schemas["OAuthPortal"]["enum"])
    assert standin_module.PLATFORMS == set(schemas["Platform"]["enum"])
    assert standin_module.GRANT_TYPES == set(schemas["GrantType"]["enum"])
