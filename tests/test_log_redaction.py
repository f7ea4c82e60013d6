"""Secrets from the settings never reach a log line, each key of a rotation included."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from bot.cli import log_secrets
from bot.crypto import generate_key
from bot.logs import REDACTED, RedactingFilter
from bot.settings import load_settings


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for key in list(os.environ):
        if key.startswith(("DISCORD_", "BUNGIE_", "SANCTIONS_", "PUBLIC_", "TOKEN_")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_each_key_of_a_multi_key_token_encryption_key_is_redacted() -> None:
    new, old = generate_key(), generate_key()
    settings = load_settings(require_token=False, token_encryption_key=f"{new}, {old}")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter(log_secrets(settings)))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("decrypting with %s failed, trying %s", new, old)
        logger.warning("whole setting: %s", f"{new}, {old}")
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    assert new not in text and old not in text
    assert text.count(REDACTED) >= 3
