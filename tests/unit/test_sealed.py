"""The sealed form of a secret in the state: readable with the key it was sealed with, by nothing else."""

from __future__ import annotations

from async_core.source.sealed import derive_key, seal, unseal

KEY = derive_key("client", "secret")


def test_a_sealed_token_opens_with_its_key_and_does_not_show() -> None:
    """Round trip; the token's text is nowhere in the sealed form, and two seals differ (a fresh nonce)."""
    token = "refresh-token-0123456789-é"
    sealed = seal(KEY, token)
    assert unseal(KEY, sealed) == token
    assert token not in sealed
    assert seal(KEY, token) != sealed


def test_another_key_or_an_altered_text_opens_nothing() -> None:
    """Another client secret, a flipped character, a truncation or another version: None, never garbage."""
    sealed = seal(KEY, "token")
    assert unseal(derive_key("client", "other"), sealed) is None
    flipped = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]
    assert unseal(KEY, flipped) is None
    assert unseal(KEY, sealed[:20]) is None
    assert unseal(KEY, "v2." + sealed[3:]) is None
    assert unseal(KEY, "v1.!!!") is None


def test_key_material_is_joined_without_ambiguity() -> None:
    """("ab", "c") and ("a", "bc") are different keys."""
    assert derive_key("ab", "c") != derive_key("a", "bc")
