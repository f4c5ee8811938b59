"""An API key in the query string: set as a request leaves, taken out of links, hidden in messages."""

from __future__ import annotations

from async_core.http.client import cause, hide, with_params, without_params

KEY = {"api_key": "k3y/with+odd chars"}


def test_the_key_is_set_once_replacing_an_echoed_one() -> None:
    """A link that already carries the parameter (echoed by the server) gets the configured value, once."""
    sent = with_params("https://api.example.com/v1/items?page=2&api_key=old", KEY)
    assert sent == "https://api.example.com/v1/items?page=2&api_key=k3y%2Fwith%2Bodd+chars"


def test_a_link_loses_only_the_secret_parameter() -> None:
    assert without_params("https://h/x?a=1&api_key=zzz&b=2", ["api_key"]) == "https://h/x?a=1&b=2"
    assert without_params("https://h/x?a=1", ["api_key"]) == "https://h/x?a=1"


def test_a_message_that_quotes_the_url_sent_does_not_show_the_key() -> None:
    """Plain, percent-encoded or form-encoded: each form of the value is hidden; nothing is chained then."""
    url = with_params("https://h/x", KEY)
    message = hide(f"InvalidURL: {url} ({KEY['api_key']})", KEY)
    assert "k3y" not in message
    assert message.count("<redacted>") == 2
    error = ValueError(url)
    assert cause(error, KEY) is None
    assert cause(error, {}) is error
