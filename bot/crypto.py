"""Encryption of OAuth tokens at rest (Fernet), with key rotation.

The first key encrypts; every key decrypts, so an operator can add a new key in
front, run ``python -m bot rekey``, and then drop the old one.

``cryptography`` is loaded on the first seal or open, not at start-up: its Rust
library costs about 8 ms of import and 6.6 MiB of memory, and keys are checked
without it (``check_keys`` accepts exactly what ``Fernet`` accepts).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

KEY_BYTES = 32
"""A Fernet key is 32 bytes (signing half, encryption half), url-safe base64-encoded."""


class KeyError_(ValueError):  # trailing underscore: not the builtin KeyError
    """A configured encryption key is unusable."""


class TokenDecryptError(Exception):
    """A stored token could not be decrypted with any configured key."""


def generate_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode("ascii")


def check_keys(keys: list[str]) -> None:
    """Raise ``KeyError_`` naming the first key that ``Fernet`` would refuse.

    The same test as ``Fernet.__init__`` (url-safe base64 that decodes to 32 bytes),
    without loading ``cryptography``.
    """
    if not keys:
        raise KeyError_("no key given")
    for position, key in enumerate(keys, start=1):
        try:
            decoded = base64.urlsafe_b64decode(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):  # binascii.Error is a ValueError
            decoded = b""
        if len(decoded) != KEY_BYTES:
            raise KeyError_(
                f"key {position} is not a valid Fernet key (32 url-safe base64-encoded bytes)"
            )


def parse_keys(keys: list[str]) -> MultiFernet:
    check_keys(keys)
    from cryptography.fernet import Fernet, MultiFernet

    return MultiFernet([Fernet(key.encode("ascii")) for key in keys])


class TokenBox:
    """Seals and opens token strings; the only place that sees plaintext tokens at rest.

    The keys are checked when the box is made; the cipher is built on first use.
    """

    def __init__(self, keys: list[str]) -> None:
        check_keys(keys)
        self._keys = list(keys)
        self._cipher: MultiFernet | None = None

    def _fernet(self) -> MultiFernet:
        if self._cipher is None:
            self._cipher = parse_keys(self._keys)
        return self._cipher

    def seal(self, plaintext: str) -> bytes:
        return self._fernet().encrypt(plaintext.encode("utf-8"))

    def open(self, sealed: bytes) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet().decrypt(sealed).decode("utf-8")
        except InvalidToken:
            raise TokenDecryptError(
                "stored token cannot be decrypted with any TOKEN_ENCRYPTION_KEY"
            ) from None

    def rotate(self, sealed: bytes) -> bytes:
        """Re-encrypt under the first key."""
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet().rotate(sealed)
        except InvalidToken:
            raise TokenDecryptError(
                "stored token cannot be decrypted with any TOKEN_ENCRYPTION_KEY"
            ) from None
