"""An API key in the query string: set as a request leaves, taken out of links, hidden in messages."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

from async_core.http.secret_params import cause, hide, with_params, without_params

KEY = {"api_key": "k3y/with+odd chars"}


def test_the_key_is_set_once_replacing_an_echoed_one() -> None:
    """A link that already carries the parameter (echoed by the server) gets the configured value, once."""
    sent = with_params("https://api.example.com/v1/items?page=2&api_key=old", KEY)
    assert sent == "https://api.example.com/v1/items?page=2&api_key=k3y%2Fwith%2Bodd+chars"


def test_a_link_loses_only_the_secret_parameter() -> None:
    assert without_params("https://h/x?a=1&api_key=zzz&b=2", ["api_key"]) == "https://h/x?a=1&b=2"
    assert without_params("https://h/x?a=1", ["api_key"]) == "https://h/x?a=1"


def test_a_link_that_echoes_the_key_under_another_spelling_loses_it() -> None:
    """A next link to an allowed host (sent as it is, without the key) echoing `API_KEY=<key>` or the key under
    another name kept it: the key went to that host."""
    value = KEY["api_key"]
    link = f"https://cdn.example/x?a=1&API_KEY={quote(value, safe='')}&k={quote_plus(value)}&b=2"
    assert without_params(link, ["api_key"], values=[value]) == "https://cdn.example/x?a=1&b=2"
    assert without_params("https://h/x?a=1&Api_Key=zzz", ["api_key"]) == "https://h/x?a=1"
    assert without_params("https://h/x?a=1&t=ab+c/d==", [], values=["ab+c/d=="]) == "https://h/x?a=1"  # raw +


def test_a_message_that_quotes_the_url_sent_does_not_show_the_key() -> None:
    """Plain, percent-encoded or form-encoded: each form of the value is hidden; nothing is chained then."""
    url = with_params("https://h/x", KEY)
    message = hide(f"InvalidURL: {url} ({KEY['api_key']})", KEY)
    assert "k3y" not in message
    assert message.count("<redacted>") == 2
    error = ValueError(url)
    assert cause(error, KEY) is None
    assert cause(error, {}) is error
