"""Saved links without credentials (`async_core.source.redact`): what is taken out, what is kept as it was."""

from async_core.source.pagination import PageRequest
from async_core.source.redact import sign, strip_credentials


def link(url: str) -> PageRequest:
    return PageRequest(url=url)


def test_a_parameter_holding_a_configured_secret_is_taken_out_and_remembered_by_its_key() -> None:
    saved = strip_credentials(
        link("https://api.example/items?after=5&access_token=s%2Fcr3t&q=a%20b"),
        names=(),
        secrets={"bearer_token": "s/cr3t", "unused": ""},
    )
    assert saved.url == "https://api.example/items?after=5&q=a%20b"  # the other parameters keep their encoding
    assert saved.signed == (("access_token", "bearer_token"),)
    assert (
        sign(saved, {"bearer_token": "s/cr3t"}).url == "https://api.example/items?after=5&q=a%20b&access_token=s%2Fcr3t"
    )


def test_named_parameters_and_session_tokens_are_taken_out_without_being_added_back() -> None:
    saved = strip_credentials(
        link("https://api.example/items?SIG=x1&session=tok9&page=2"), names=("sig",), secrets={}, tokens=("tok9",)
    )
    assert (saved.url, saved.signed) == ("https://api.example/items?page=2", ())
    assert sign(saved, {}).url == saved.url


def test_a_link_without_credentials_is_the_same_request() -> None:
    request = link("https://api.example/items?page=2")
    assert strip_credentials(request, names=("access_token",), secrets={"k": "v"}) is request
    assert strip_credentials(PageRequest(params=(("cursor", "v"),)), names=(), secrets={"k": "v"}).params == (
        ("cursor", "v"),
    )


def test_a_saved_link_reads_back_from_the_state_with_its_signature() -> None:
    saved = PageRequest(url="https://api.example/i?after=5", signed=(("access_token", "bearer_token"),))
    assert PageRequest.from_state(saved.to_state()) == saved
    assert "signed" not in PageRequest(url="https://api.example/i").to_state()  # states written before read the same


def test_a_secret_echoed_with_a_raw_plus_is_taken_out() -> None:
    # A base64 token ("ab+cd/ef==") echoed as the server had it: `+` is not encoded, so form-decoding it gives a
    # space and the value no longer equals the secret; the link still carries it.
    saved = strip_credentials(
        link("https://api.example/items?page=2&access_token=ab+cd/ef=="), names=(), secrets={"token": "ab+cd/ef=="}
    )
    assert saved.url == "https://api.example/items?page=2"
    assert saved.signed == (("access_token", "token"),)
    session = strip_credentials(link("https://api.example/items?page=2&s=x+y"), names=(), secrets={}, tokens=("x+y",))
    assert session.url == "https://api.example/items?page=2"


def test_a_fragment_is_never_saved() -> None:
    # A fragment is never sent to a server (it means nothing to a next request), but a server may echo a token
    # into it: a saved link keeps none.
    saved = strip_credentials(
        link("https://api.example/items?page=2#access_token=s3cr3t"), names=(), secrets={"token": "s3cr3t"}
    )
    assert saved.url == "https://api.example/items?page=2"
    bare = strip_credentials(link("https://api.example/items#t=tok9"), names=(), secrets={}, tokens=("tok9",))
    assert bare.url == "https://api.example/items"
