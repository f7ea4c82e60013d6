"""Discord shards: a real Warden in the stand-in, holding some shards or all of them.

Two processes on one SQLite file is not a supported mode (several processes need
PostgreSQL), so each test runs Warden bots with their own database; what is shared across
processes here is the identify gate's folder.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import httpx
import pytest

from bot.identify_gate import IDENTIFY_WINDOW
from bot.notify import DmOutcome, Notice
from bot.runtime import open_app
from bot.settings import SettingsError, load_settings
from tests.linking_rig import free_port
from tests.prom_text import parse
from tests.review_rig import review_world, settings_for
from tests.standins.discord import StandInAssertionError, run_bot, shard_of, start_discord_standin
from tests.test_cli import run_cli

pytestmark = pytest.mark.usefixtures("isolated_env")


async def test_a_process_with_shard_1_of_2_gets_only_its_servers_and_its_buttons_work(
    tmp_path: Path,
) -> None:
    async with start_discord_standin(guild_shard=(1, 2), shards=2) as standin:
        elsewhere = standin.add_guild("On shard 0", shard=(0, 2))
        assert shard_of(standin.guild.id, 2) == 1 and shard_of(elsewhere.id, 2) == 0

        async with review_world(tmp_path, standin, shard_ids="1", shard_count=2) as w:
            assert [g.id for g in w.bot.guilds] == [standin.guild.id]
            assert w.bot.get_guild(elsewhere.id) is None
            assert [(r.shard_id, r.shard_count) for r in standin.gateway.identifies] == [(1, 2)]

            # A persistent button on a review post in a server of shard 1.
            await w.setup()
            report = await w.accept_report()
            post = await w.review_post(report)
            await (await w.click(w.mod, post, "claim", report)).response()

            def claimed() -> bool:
                return f"Claimed by <@{w.mod.id}>" in standin.message(post.id).text

            await standin.wait_until(claimed, description="the post says who claimed it")
            assert (await w.case(report)).claimed_by == w.mod.id

            # DMs arrive on shard 0 only: this process receives none...
            with pytest.raises(StandInAssertionError, match="no bot is connected"):
                await standin.gateway.dispatch_interaction({"type": 2}, None)
            # ...but sends them over REST like any other.
            sent = await w.bot.services.notifier.send_dm(w.alice.id, Notice("hello from shard 1"))
            assert sent is DmOutcome.SENT
            assert "hello from shard 1" in standin.dms_to(w.alice)[-1].text


async def test_a_process_with_set_shards_still_logs_in_when_gateway_bot_fails(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    """With SHARD_COUNT set, /gateway/bot only tells the identify concurrency: without it,
    logins are paced at the strictest (one per 5 s) rather than not made."""
    async with start_discord_standin(guild_shard=(1, 2)) as standin:
        standin.fail_next("GET", r"^/gateway/bot$", 503)
        async with review_world(tmp_path, standin, shard_ids="1", shard_count=2) as w:
            assert [g.id for g in w.bot.guilds] == [standin.guild.id]
        assert "paced as if max_concurrency=1" in caplog.text


async def test_without_shard_settings_every_recommended_shard_connects_and_health_says_so(
    tmp_path: Path,
) -> None:
    port = free_port()
    async with start_discord_standin(guild_shard=(0, 3), shards=3, max_concurrency=3,
                                     enforce_identify_limit=True) as standin:
        others = [standin.add_guild(f"On shard {n}", shard=(n, 3)) for n in (1, 2)]
        async with review_world(tmp_path, standin, outbox=True, web_host="127.0.0.1",
                                web_port=port) as w:
            assert w.bot.shard_count == 3
            identifies = standin.gateway.identifies
            assert sorted(r.shard_id for r in identifies if r.accepted) == [0, 1, 2]
            # max_concurrency 3: the three logins have their own keys, so none waits for
            # another's 5 s (discord.py alone would wait 5 s before each), none refused.
            assert all(r.accepted for r in identifies)
            assert identifies[-1].at - identifies[0].at < IDENTIFY_WINDOW - 1
            assert {g.id for g in w.bot.guilds} == {standin.guild.id, *(g.id for g in others)}
            assert w.bot.get_guild(others[1].id).shard_id == 2  # type: ignore[union-attr]

            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                health = (await http.get("/healthz")).json()
                assert health["shards"] == [{"id": n, "connected": True} for n in range(3)]

                # One shard's connection drops: health and the gauge say which.
                shard = w.bot.get_shard(1)
                assert shard is not None
                await shard.disconnect()
                response = await http.get("/healthz")
                assert response.status_code == 503
                assert response.json()["shards"][1] == {"id": 1, "connected": False}
                gauge = parse((await http.get("/metrics")).text)["warden_shard_connected"]
                assert [gauge.value(shard=str(n)) for n in range(3)] == [1.0, 0.0, 1.0]


async def test_two_processes_starting_at_once_keep_to_one_identify_per_5_seconds(
    tmp_path: Path,
) -> None:
    """max_concurrency 1: the second login waits for the first's window, through the lock
    files both processes share, and Discord refuses none."""
    async with start_discord_standin(shards=2, max_concurrency=1,
                                     enforce_identify_limit=True) as standin:
        first = settings_for(tmp_path, standin, database_path=tmp_path / "a.db",
                             shard_ids="0", shard_count=2)
        second = settings_for(tmp_path, standin, database_path=tmp_path / "b.db",
                              shard_ids="1", shard_count=2)
        async with (
            open_app(first, start_background=False, guild_ready_timeout=0.05) as one,
            open_app(second, start_background=False, guild_ready_timeout=0.05) as two,
        ):
            async def run(bot: object) -> None:
                async with run_bot(bot, standin, ready_timeout=30.0):  # type: ignore[arg-type]
                    await standin.wait_until(
                        lambda: sum(r.accepted for r in standin.gateway.identifies) == 2,
                        timeout=30.0, description="both shards identified")

            await asyncio.gather(run(one), run(two))

        identifies = standin.gateway.identifies
        assert [r.accepted for r in identifies] == [True, True]
        assert sorted(r.shard_id for r in identifies) == [0, 1]
        assert identifies[1].at - identifies[0].at >= IDENTIFY_WINDOW - 0.1
        assert sorted(p.name for p in (tmp_path / "identify").iterdir()) == ["identify-0.lock"]


async def identify(http: aiohttp.ClientSession, url: str, shard: list[int]) -> tuple[
        aiohttp.ClientWebSocketResponse, aiohttp.WSMessage]:
    ws = await http.ws_connect(url)
    await ws.receive_json()  # HELLO
    await ws.send_json({"op": 2, "d": {"token": "t", "intents": 1, "shard": shard,
                                       "properties": {}}})
    return ws, await ws.receive()


async def test_the_stand_in_checks_shards_and_the_identify_limit_as_discord_does() -> None:
    async with start_discord_standin(enforce_identify_limit=True) as standin, \
            aiohttp.ClientSession() as http:
        # 4010: a shard id outside the count; 4011: one session would hold too many servers.
        for shard, code, limit in (([2, 2], 4010, 2500), ([0, 0], 4010, 2500),
                                   ([0, 1], 4011, 0)):
            standin.gateway.max_guilds_per_session = limit
            ws, _ = await identify(http, standin.gateway_url, shard)
            assert ws.close_code == code
            await ws.close()
        standin.gateway.max_guilds_per_session = 2500

        # max_concurrency 1: a second login with the same key inside 5 s gets op 9.
        first, ready = await identify(http, standin.gateway_url, [0, 2])
        assert ready.json()["t"] == "READY"
        second, refused = await identify(http, standin.gateway_url, [1, 2])
        assert refused.json() == {"op": 9, "d": False, "s": None, "t": None}
        await first.close()
        await second.close()
        assert [(r.shard_id, r.accepted) for r in standin.gateway.identifies][-2:] == [
            (0, True), (1, False)]
        gateway_bot = await http.get(standin.api_base_url + "/gateway/bot",
                                     headers={"Authorization": "Bot t"})
        limits = (await gateway_bot.json())["session_start_limit"]
        assert limits["max_concurrency"] == 1 and limits["remaining"] == 999


@pytest.mark.parametrize(("env", "message"), [
    ({"SHARD_IDS": "0,1"}, "SHARD_IDS: set SHARD_COUNT too"),
    ({"SHARD_IDS": "0,4", "SHARD_COUNT": "4"}, "SHARD_IDS: shard 4 is outside 0 to 3"),
    ({"SHARD_IDS": "zero", "SHARD_COUNT": "4"}, "is not a comma-separated list"),
    ({"SHARD_COUNT": "0"}, "SHARD_COUNT: Input should be greater than or equal to 1"),
])
def test_shard_settings_are_checked(tmp_path: Path, env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(require_token=False, **{k.lower(): v for k, v in env.items()})
    assert message in str(caught.value)
    result = run_cli("check", cwd=tmp_path, env={"DISCORD_TOKEN": "x", **env})
    assert result.returncode == 2
    assert message in result.stdout and "Traceback" not in result.stdout + result.stderr


def test_shard_settings_say_which_shards_run(tmp_path: Path) -> None:
    settings = load_settings(require_token=False, shard_ids=" 3, 1,1", shard_count=4)
    assert settings.shard_list() == [1, 3] and settings.shard_count == 4
    every = load_settings(require_token=False, shard_ids="", shard_count="")
    assert every.shard_list() is None and every.shard_count is None


_WAIT_TURN = """
import asyncio, sys, time
from pathlib import Path
from bot.identify_gate import LocalIdentifyGate
asyncio.run(LocalIdentifyGate(Path(sys.argv[1])).wait_turn(int(sys.argv[2])))
print(time.time())
"""


async def test_the_lock_files_pace_logins_across_real_processes(tmp_path: Path) -> None:
    """Three processes at once: two with key 0 are 5 s apart, the one with key 1 waits
    for neither."""
    import sys

    from tests.test_cli import ROOT

    async def turn(key: int) -> float:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", _WAIT_TURN, str(tmp_path / "identify"), str(key),
            cwd=ROOT, stdout=asyncio.subprocess.PIPE)
        out, _ = await child.communicate()
        assert child.returncode == 0
        return float(out)

    zero_a, zero_b, one = await asyncio.gather(turn(0), turn(0), turn(1))
    assert abs(zero_a - zero_b) >= IDENTIFY_WINDOW
    assert one - min(zero_a, zero_b) < IDENTIFY_WINDOW - 1
