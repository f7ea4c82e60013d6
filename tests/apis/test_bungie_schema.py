"""Everything the client sends, and everything the stand-in answers, checked against
Bungie's published OpenAPI document (the subset in shared/specs)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jsonschema  # type: ignore[import-untyped]
import pytest

from bot.apis.bungie.reasons import load_reason_table, snapshot_table
from bot.apis.http import build_http_client
from bot.apis.retry import RetryPolicy
from bot.domain import Reason
from tests.standins.bungie import API_PREFIX, TOKEN_PATH, BungieStandin, Recorded, bungie_client_for

SPECS = Path(__file__).resolve().parents[2] / ".." / "shared" / "specs"
SPEC_FILE = SPECS / "bungie-openapi-subset.json"

# Called by the client but outside the subset (the spec file says why for GetProfile).
MANIFEST_ROOT = "/Destiny2/Manifest/"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC_FILE.is_file():
        pytest.skip(f"Bungie OpenAPI subset not found at {SPEC_FILE} (shared/specs is absent)")
    loaded: dict[str, Any] = json.loads(SPEC_FILE.read_text("utf-8"))
    return loaded


# ---- JSON Schema plumbing ---------------------------------------------------------------

_INT_RANGES = {"int16": (-(2**15), 2**15 - 1), "int32": (-(2**31), 2**31 - 1),
               "int64": (-(2**63), 2**63 - 1), "uint32": (0, 2**32 - 1)}


def format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker()

    def in_range(fmt: str) -> Callable[[object], bool]:
        low, high = _INT_RANGES[fmt]

        def check(value: object) -> bool:
            if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
                value = int(value)  # Bungie's 64-bit ids as strings (relaxed schemas only)
            return not isinstance(value, int) or low <= value <= high

        return check

    for fmt in _INT_RANGES:
        checker.checks(fmt)(in_range(fmt))

    def date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return False
        return True

    checker.checks("date-time")(date_time)
    return checker


def validator(spec: dict[str, Any], schema: dict[str, Any], *,
              relaxed: bool = False) -> jsonschema.Draft202012Validator:
    components = relax(spec["components"]) if relaxed else spec["components"]
    root = {**schema, "components": components}
    return jsonschema.Draft202012Validator(root, format_checker=format_checker())


def relax(node: Any) -> Any:
    """What Bungie actually sends, in schema terms: int64 ids may be JSON strings, and
    OpenAPI 3.0 ``nullable`` means null is allowed."""
    if isinstance(node, list):
        return [relax(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: relax(v) for k, v in node.items()}
    if out.get("type") == "integer" and out.get("format") == "int64":
        out["type"] = ["integer", "string"]
        out["pattern"] = r"^-?\d+$"
    if out.pop("nullable", False) and "type" in out:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
    return out


def errors_of(v: jsonschema.Draft202012Validator, instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in v.iter_errors(instance)]


# ---- matching recorded requests to spec operations --------------------------------------

def operations(spec: dict[str, Any]) -> list[tuple[re.Pattern[str], str, dict[str, Any]]]:
    items = [(path, item) for path, item in spec["paths"].items()]
    lite = spec["x-extra"]["getProfileLite"]
    items.append((lite["path"], lite["pathItem"]))
    found = []
    for path, item in items:
        pattern = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)",
                                          re.escape(path)) + "$")
        for method, op in item.items():
            if method in ("get", "post"):
                found.append((pattern, method.upper(), op))
    return found


def check_parameter(spec: dict[str, Any], param: dict[str, Any], raw: str) -> list[str]:
    schema = param["schema"]
    if schema.get("type") == "array":
        values: list[Any] = raw.split(",")
        item = schema["items"]
    else:
        values, item = [raw], schema
    problems = []
    for value in values:
        if item.get("type") == "integer":
            if not re.fullmatch(r"-?\d+", value):
                problems.append(f"{param['name']}={value!r} is not an integer")
                continue
            value = int(value)
        problems += errors_of(validator(spec, item), value)
    return problems


def check_request(spec: dict[str, Any], sent: Recorded) -> tuple[str, list[str]]:
    path = sent.path.removeprefix(API_PREFIX)
    for pattern, method, op in operations(spec):
        match = pattern.match(path)
        if match is None or method != sent.method:
            continue
        problems: list[str] = []
        params = {p["name"]: p for p in op.get("parameters", [])}
        for name, raw in match.groupdict().items():
            problems += check_parameter(spec, params[name], raw)
        for name, raw in sent.query.items():
            if name not in params or params[name]["in"] != "query":
                problems.append(f"query parameter {name!r} is not in the spec")
            else:
                problems += check_parameter(spec, params[name], raw)
        body_spec = op.get("requestBody")
        if body_spec is not None:
            schema = body_spec["content"]["application/json"]["schema"]
            if sent.headers.get("content-type") != "application/json":
                problems.append("body is not sent as application/json")
            problems += errors_of(validator(spec, schema), sent.json)
            declared = set(resolve(spec, schema).get("properties", {}))
            problems += [f"body field {k!r} is not in the spec"
                         for k in set(sent.json or {}) - declared]
        elif sent.json is not None:
            problems.append("a body was sent where the spec has none")
        return op["operationId"], problems
    return "", [f"{sent.method} {path} matches no operation in the spec"]


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


# ---- drive the client through everything it can send --------------------------------------

async def no_sleep(_: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture
async def driven() -> AsyncIterator[BungieStandin]:
    """A stand-in that has seen every kind of request the client makes."""
    async with BungieStandin() as bungie, build_http_client(
        connect_timeout=2, read_timeout=2, user_agent="t"
    ) as http:
        client = bungie_client_for(bungie, http, policy=RetryPolicy(max_attempts=1),
                                   sleep=no_sleep)
        alice = bungie.add_account("Alice", 1234)
        bob = bungie.add_account("Bob", 42)
        activity = bungie.add_pgcr([alice, bob])
        bungie.login_as(alice)

        answer = await http.get(client.authorize_url("state"))
        code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
        tokens = await client.exchange_code(code)
        assert tokens.refresh_token is not None
        tokens = await client.refresh(tokens.refresh_token)

        await client.get_memberships_for_current_user(tokens.access_token)
        await client.search_player_by_bungie_name("Bob", 42)
        await client.get_profile_characters(3, bob.membership_id)
        await client.get_activity_history(3, bob.membership_id, bob.character_id, count=5,
                                          mode=84, page=1)
        await client.get_pgcr(activity)
        table = await load_reason_table(client)
        for reason in Reason:
            entry = table[reason]
            # One report per player per activity (a repeat is refused with 1403).
            await client.report_player(tokens.access_token, bungie.add_pgcr([alice, bob]),
                                       category_hash=entry.category_hash,
                                       reason_hash=entry.reason_hash,
                                       offending_character_id=bob.character_id)
        yield bungie


async def test_every_request_the_client_sends_matches_the_spec(
    spec: dict[str, Any], driven: BungieStandin
) -> None:
    seen: set[str] = set()
    problems: list[str] = []
    for sent in driven.requests:
        if sent.path == TOKEN_PATH or not sent.path.startswith(API_PREFIX):
            continue  # OAuth endpoints are not in the OpenAPI document: checked below
        if sent.path == API_PREFIX + MANIFEST_ROOT:
            continue
        operation_id, found = check_request(spec, sent)
        seen.add(operation_id)
        problems += [f"{sent.method} {sent.path}: {p}" for p in found]
    assert problems == []
    assert seen == set(spec["operations"]) | {"Destiny2.GetProfile"}
    assert driven.report_count == len(Reason)


async def test_report_bodies_follow_the_request_schema(
    spec: dict[str, Any], driven: BungieStandin
) -> None:
    schema = {"$ref": "#/components/schemas/"
                      "Destiny.Reporting.Requests.DestinyReportOffensePgcrRequest"}
    v = validator(spec, schema)
    bodies = [r.json for r in driven.requests_to("/Report/")]
    assert len(bodies) == len(Reason)
    for body in bodies:
        assert errors_of(v, body) == []
        assert isinstance(body["offendingCharacterId"], int)  # int64, not a string
        assert len(body["reasonCategoryHashes"]) == len(body["reasonHashes"]) == 1


def test_invalid_report_bodies_are_caught_by_the_same_check(spec: dict[str, Any]) -> None:
    """The schema check has teeth: these are what a buggy client might send."""
    v = validator(spec, {"$ref": "#/components/schemas/"
                                 "Destiny.Reporting.Requests.DestinyReportOffensePgcrRequest"})
    assert errors_of(v, {"reasonCategoryHashes": ["1851805954"]})
    assert errors_of(v, {"reasonCategoryHashes": [2**32]})
    assert errors_of(v, {"offendingCharacterId": "2305843009300000001"})


async def test_token_requests_are_oauth_forms(driven: BungieStandin) -> None:
    exchange, refresh = driven.requests_to(TOKEN_PATH)
    for sent in (exchange, refresh):
        assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
        assert sent.headers["authorization"].startswith("Basic ")
    assert exchange.form is not None and set(exchange.form) == {"grant_type", "code"}
    assert exchange.form["grant_type"] == "authorization_code"
    assert refresh.form is not None and set(refresh.form) == {"grant_type", "refresh_token"}
    assert refresh.form["grant_type"] == "refresh_token"
    [authorize] = driven.requests_to("/OAuth/Authorize")
    assert set(authorize.query) == {"client_id", "response_type", "state"}


# ---- the stand-in answers as the spec says ------------------------------------------------

def response_schema(spec: dict[str, Any], template: str, method: str) -> dict[str, Any]:
    ref = spec["paths"][template][method]["responses"]["200"]["$ref"]
    name = ref.rsplit("/", 1)[1]
    schema: dict[str, Any] = spec["components"]["responses"][name]["content"][
        "application/json"]["schema"]
    return schema


async def test_standin_answers_match_the_response_schemas(spec: dict[str, Any]) -> None:
    async with BungieStandin() as bungie, httpx.AsyncClient() as http:
        alice = bungie.add_account("Alice", 1234, extra_membership_types=[2])
        bob = bungie.add_account("Bob", 42)
        activity = bungie.add_pgcr([alice, bob])
        token = bungie.issue_tokens(alice).access_token
        base = bungie.api_base_url
        key = {"X-API-Key": bungie.api_key}
        user = {**key, "Authorization": f"Bearer {token}"}
        report_body = {"reasonCategoryHashes": [1851805954], "reasonHashes": [2352608786],
                       "offendingCharacterId": bob.character_id}
        cases: list[tuple[str, str, httpx.Response]] = [
            ("/Destiny2/Stats/PostGameCarnageReport/{activityId}/", "get",
             await http.get(f"{base}/Destiny2/Stats/PostGameCarnageReport/{activity}/",
                            headers=key)),
            ("/User/GetMembershipsForCurrentUser/", "get",
             await http.get(f"{base}/User/GetMembershipsForCurrentUser/", headers=user)),
            ("/Destiny2/SearchDestinyPlayerByBungieName/{membershipType}/", "post",
             await http.post(f"{base}/Destiny2/SearchDestinyPlayerByBungieName/-1/",
                             headers=key, json={"displayName": "Bob", "displayNameCode": 42})),
            ("/Destiny2/{membershipType}/Account/{destinyMembershipId}/Character/"
             "{characterId}/Stats/Activities/", "get",
             await http.get(f"{base}/Destiny2/3/Account/{bob.membership_id}/Character/"
                            f"{bob.character_id}/Stats/Activities/", headers=key)),
            ("/Destiny2/Manifest/{entityType}/{hashIdentifier}/", "get",
             await http.get(f"{base}/Destiny2/Manifest/DestinyReportReasonCategoryDefinition/"
                            "1851805954/", headers=key)),
            ("/Destiny2/Stats/PostGameCarnageReport/{activityId}/Report/", "post",
             await http.post(f"{base}/Destiny2/Stats/PostGameCarnageReport/{activity}/Report/",
                             headers=user, json=report_body)),
        ]
        for template, method, answer in cases:
            body = answer.json()
            assert body["ErrorCode"] == 1, (template, body)
            assert errors_of(validator(spec, response_schema(spec, template, method),
                                       relaxed=True), body) == [], template

        profile = await http.get(f"{base}/Destiny2/3/Profile/{bob.membership_id}/",
                                 headers=key, params={"components": "200"})
        lite = spec["x-extra"]["getProfileLite"]["DestinyProfileResponse.properties"]
        schema = {"type": "object", "properties": lite}
        assert errors_of(validator(spec, schema, relaxed=True),
                         profile.json()["Response"]) == []


async def test_standin_ids_are_strings_like_bungie(spec: dict[str, Any]) -> None:
    async with BungieStandin() as bungie, httpx.AsyncClient() as http:
        alice, bob = bungie.add_account("Alice", 1), bungie.add_account("Bob", 2)
        activity = bungie.add_pgcr([alice, bob])
        pgcr = (await http.get(
            f"{bungie.api_base_url}/Destiny2/Stats/PostGameCarnageReport/{activity}/",
            headers={"X-API-Key": bungie.api_key})).json()["Response"]
    assert pgcr["activityDetails"]["instanceId"] == str(activity)
    assert pgcr["entries"][0]["characterId"] == str(alice.character_id)
    assert pgcr["entries"][0]["player"]["destinyUserInfo"]["membershipId"] == str(
        alice.membership_id)


def test_the_snapshot_mapping_is_sendable(spec: dict[str, Any]) -> None:
    v = validator(spec, {"$ref": "#/components/schemas/"
                                 "Destiny.Reporting.Requests.DestinyReportOffensePgcrRequest"})
    for entry in snapshot_table().entries.values():
        body = {"reasonCategoryHashes": [entry.category_hash],
                "reasonHashes": [entry.reason_hash], "offendingCharacterId": 1}
        assert errors_of(v, body) == []
