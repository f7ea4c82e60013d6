"""Encryption of OAuth tokens at rest (Fernet), with key rotation.

The first key encrypts; every key decrypts, so an operator can add a new key in
front, run ``python -m bot rekey``, and then drop the old one.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class KeyError_(ValueError):  # trailing underscore: not the builtin KeyError
    """A configured encryption key is unusable."""


class TokenDecryptError(Exception):
    """A stored token could not be decrypted with any configured key."""


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def parse_keys(keys: list[str]) -> MultiFernet:
    if not keys:
        raise KeyError_("no key given")
    fernets: list[Fernet] = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode("ascii")))
        except (ValueError, UnicodeEncodeError):
            raise KeyError_(
                f"key {position} is not a valid Fernet key (32 url-safe base64-encoded bytes)"
            ) from None
    return MultiFernet(fernets)


class TokenBox:
    """Seals and opens token strings; the only place that sees plaintext tokens at rest."""

    def __init__(self, keys: list[str]) -> None:
        self._fernet = parse_keys(keys)

    def seal(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def open(self, sealed: bytes) -> str:
        try:
            return self._fernet.decrypt(sealed).decode("utf-8")
        except InvalidToken:
            raise TokenDecryptError(
                "stored token cannot be decrypted with any TOKEN_ENCRYPTION_KEY"
            ) from None

    def rotate(self, sealed: bytes) -> bytes:
        """Re-encrypt under the first key."""
        try:
            return self._fernet.rotate(sealed)
        except InvalidToken:
            raise TokenDecryptError(
                "stored token cannot be decrypted with any TOKEN_ENCRYPTION_KEY"
            ) from None
