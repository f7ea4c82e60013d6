from __future__ import annotations

import pytest

from bot.crypto import generate_key
from bot.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith(("DISCORD_", "BUNGIE_", "SANCTIONS_", "WEB_", "PUBLIC_", "TOKEN_")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_missing_token_is_named_with_how_to_fix() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert any(p.startswith("DISCORD_TOKEN: missing") for p in caught.value.problems)


def test_every_problem_is_listed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_PORT", "99999")
    monkeypatch.setenv("LOG_LEVEL", "chatty")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    text = "\n".join(caught.value.problems)
    assert "WEB_PORT" in text and "LOG_LEVEL" in text


def test_secrets_never_appear_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "super-secret-token-value")
    settings = load_settings()
    assert "super-secret-token-value" not in repr(settings)
    assert "super-secret-token-value" not in str(settings.model_dump())


def test_linking_refuses_missing_or_malformed_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("BUNGIE_API_KEY", "k")
    monkeypatch.setenv("BUNGIE_CLIENT_ID", "123")
    monkeypatch.setenv("BUNGIE_CLIENT_SECRET", "s")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://warden.example.org")
    with pytest.raises(SettingsError, match="TOKEN_ENCRYPTION_KEY: missing"):
        load_settings()
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", "not-a-key")
    with pytest.raises(SettingsError, match="key 1 is not a valid Fernet key"):
        load_settings()
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", f"{generate_key()},{generate_key()}")
    assert len(load_settings().token_keys()) == 2


def test_plain_http_public_url_is_refused_except_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("BUNGIE_API_KEY", "k")
    monkeypatch.setenv("BUNGIE_CLIENT_ID", "123")
    monkeypatch.setenv("BUNGIE_CLIENT_SECRET", "s")
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEY", generate_key())
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://warden.example.org")
    with pytest.raises(SettingsError, match="PUBLIC_BASE_URL: must be https"):
        load_settings()
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:8080")
    assert load_settings().linking_enabled


def test_defaults_serve_a_single_server_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    settings = load_settings()
    assert str(settings.database_path) == "data/warden.db"
    assert settings.web_host == "127.0.0.1"
    assert not settings.bungie_enabled and not settings.sanctions_enabled


def test_env_example_lists_every_setting_with_a_comment() -> None:
    from pathlib import Path

    from bot.settings import Settings

    example = Path(__file__).resolve().parents[1] / ".env.example"
    lines = example.read_text().splitlines()
    documented = {}
    for index, line in enumerate(lines):
        if line and not line.startswith("#") and "=" in line:
            name = line.split("=", 1)[0].strip().lstrip("# ").strip()
            documented[name] = index
    for name in Settings.model_fields:
        key = name.upper()
        assert key in documented, f"{key} missing from .env.example"
        previous = lines[documented[key] - 1]
        assert previous.startswith("# "), f"{key} has no one-line comment above it"


def test_public_bungie_client_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "t")
    monkeypatch.setenv("BUNGIE_API_KEY", "k")
    monkeypatch.setenv("BUNGIE_CLIENT_ID", "123")
    with pytest.raises(SettingsError, match="BUNGIE_CLIENT_SECRET: missing"):
        load_settings()
