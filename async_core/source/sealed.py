"""A secret sealed for the state: what a rotated OAuth2 refresh token is written as, so that the state (which the
SDK's local runner prints at every checkpoint, and which the platform shows to whoever reads the connection's
state) never holds it in the clear.

The key is derived from secrets of the configuration (the OAuth2 client's secret, which the platform keeps
encrypted and the connector never writes); without them the sealed text says nothing. The construction uses only
the standard library: HMAC-SHA256 as a pseudo-random function in counter mode for the keystream (a fresh 16-byte
nonce per seal), and HMAC-SHA256 over nonce and ciphertext for integrity (encrypt-then-MAC, separate keys).

    sealed = seal(key, "the token")      # "v1.<base64url>"
    unseal(key, sealed) == "the token"   # None if the key differs or the text was altered
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

VERSION = "v1"
_NONCE, _TAG = 16, 32


def derive_key(*material: str) -> bytes:
    """A key from configuration secrets (joined unambiguously)."""
    joined = "\x00".join(f"{len(part)}:{part}" for part in material).encode("utf-8")
    return hashlib.sha256(b"async_core sealed state v1\x00" + joined).digest()


def seal(key: bytes, plaintext: str) -> str:
    data = plaintext.encode("utf-8")
    nonce = secrets.token_bytes(_NONCE)
    body = bytes(a ^ b for a, b in zip(data, _stream(key, nonce, len(data)), strict=True))
    tag = hmac.new(_sub(key, b"mac"), nonce + body, hashlib.sha256).digest()
    return f"{VERSION}.{base64.urlsafe_b64encode(nonce + body + tag).decode('ascii')}"


def unseal(key: bytes, sealed: str) -> str | None:
    """The plaintext, or None when `sealed` was not sealed with `key` (another client secret) or was altered."""
    version, _, text = sealed.partition(".")
    if version != VERSION:
        return None
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
    except ValueError:
        return None
    if len(raw) < _NONCE + _TAG:
        return None
    nonce, body, tag = raw[:_NONCE], raw[_NONCE:-_TAG], raw[-_TAG:]
    if not hmac.compare_digest(tag, hmac.new(_sub(key, b"mac"), nonce + body, hashlib.sha256).digest()):
        return None
    data = bytes(a ^ b for a, b in zip(body, _stream(key, nonce, len(body)), strict=True))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _sub(key: bytes, purpose: bytes) -> bytes:
    return hmac.new(key, purpose, hashlib.sha256).digest()


def _stream(key: bytes, nonce: bytes, length: int) -> bytes:
    encryption = _sub(key, b"enc")
    blocks = (length + 31) // 32
    return b"".join(
        hmac.new(encryption, nonce + counter.to_bytes(8, "big"), hashlib.sha256).digest() for counter in range(blocks)
    )[:length]
