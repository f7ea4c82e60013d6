"""Token encryption: keys are checked exactly as Fernet checks them, and ``cryptography``
is loaded on the first seal or open, not by settings or start-up."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.crypto import KeyError_, TokenBox, TokenDecryptError, check_keys, generate_key
from tests.standins.launch import ROOT

GOOD = generate_key()
CANDIDATES = [
    GOOD,
    GOOD.rstrip("="),  # padding missing
    GOOD[:-2] + "==",  # still 32 bytes? decides by decoding, as Fernet does
    GOOD.replace("-", "+").replace("_", "/"),  # standard alphabet
    " " + GOOD,
    GOOD + "\n",
    "!" * 44,
    base64.urlsafe_b64encode(b"k" * 31).decode(),
    base64.urlsafe_b64encode(b"k" * 33).decode(),
    base64.urlsafe_b64encode(b"k" * 32).decode(),
    "",
    "not-a-key",
    "é" * 44,
]


def fernet_accepts(key: str) -> bool:
    try:
        Fernet(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False
    return True


def check_accepts(key: str) -> bool:
    try:
        check_keys([key])
    except KeyError_:
        return False
    return True


@pytest.mark.parametrize("key", CANDIDATES)
def test_keys_are_checked_exactly_as_fernet_checks_them(key: str) -> None:
    assert check_accepts(key) == fernet_accepts(key)


def test_the_bad_key_is_named_by_position_never_shown() -> None:
    with pytest.raises(KeyError_, match="key 2 is not a valid Fernet key") as caught:
        TokenBox([GOOD, "not-a-key"])
    assert "not-a-key" not in str(caught.value)
    with pytest.raises(KeyError_, match="no key given"):
        TokenBox([])


def test_seal_open_and_rotate_across_keys() -> None:
    old, new = generate_key(), generate_key()
    sealed_old = TokenBox([old]).seal("token-1")
    both = TokenBox([new, old])
    assert both.open(sealed_old) == "token-1"
    rotated = both.rotate(sealed_old)
    assert TokenBox([new]).open(rotated) == "token-1"
    with pytest.raises(TokenDecryptError):
        TokenBox([generate_key()]).open(sealed_old)
    with pytest.raises(TokenDecryptError):
        TokenBox([generate_key()]).rotate(sealed_old)


def test_cryptography_is_loaded_on_first_use_only(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import sys
        from bot.crypto import TokenBox
        from bot.settings import load_settings
        settings = load_settings(
            discord_token="t", bungie_api_key="k", bungie_client_id="1",
            bungie_client_secret="s", public_base_url="https://warden.example.org",
            token_encryption_key="{GOOD}",
        )
        box = TokenBox(settings.token_keys())
        print("cryptography" in sys.modules)
        box.open(box.seal("x"))
        print("cryptography" in sys.modules)
    """)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["False", "True"]
