"""Secret query parameters (an API key in the URL): added as a request leaves for the home origin, and kept out
of everything else: error messages, links saved in the state, the exception chain."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit


def hide(text: str, secret: Mapping[str, str]) -> str:
    """`text` with each secret parameter's value (an API key in the query) replaced: an aiohttp message may quote
    the URL that was sent."""
    for value in secret.values():
        if value:
            for form in (value, quote(value, safe=""), quote_plus(value)):
                text = text.replace(form, "<redacted>")
    return text


def cause(exc: BaseException, secret: Mapping[str, str]) -> BaseException | None:
    """The exception to chain: none when the request carried a secret parameter (its message may quote it)."""
    return None if secret else exc


def with_params(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` set (replacing any of the same name)."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*kept, *params.items()])))


def without_params(url: str, names: Collection[str], *, values: Collection[str] = ()) -> str:
    """`url` without the query parameters in `names` (compared case-insensitively), nor any parameter whose value
    is one of `values`: a secret a server echoed into a link, under the name it was sent as or another."""
    if not names and not values:
        return url
    lowered, hidden = {name.lower() for name in names}, {value for value in values if value}
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    # A raw `+` (a base64 key echoed unencoded) reads as a space: the value is compared both ways.
    kept = [(k, v) for k, v in pairs if k.lower() not in lowered and not {v, v.replace(" ", "+")} & hidden]
    if len(kept) == len(pairs):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept)))
