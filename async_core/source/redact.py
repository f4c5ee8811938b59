"""Saved links without their credentials: what a next link carries is written to the state (and the SDK's
"checkpoint recorded" log line prints the state), so a credential in its query must not go with it.

An API may echo the token in its next links (Facebook's Graph API: `...&access_token=EAAB...`). Before a link is
saved, every query parameter the source names in `secret_params`, and every parameter whose value equals a secret
of the configuration, is taken out; a parameter that held a configured secret is remembered by the name of its
configuration key (never its value) and added back from the configuration when the saved link is used again.

Only the query is touched, segment by segment: the other parameters keep their exact encoding (a server's link
is its own; re-encoding `%20` as `+` could change what it means). A value is compared both form-decoded and
percent-decoded (a base64 token echoed with a raw `+` is the token, not a space). The fragment is dropped: it is
never sent to a server, and a server may echo a token into it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit, urlunsplit

from async_core.source.pagination import PageRequest

# A cut message's tail this long that starts a secret is taken for it (shorter ones say nothing of a secret).
MIN_PREFIX = 4


def strip_credentials(
    request: PageRequest, *, names: Collection[str], secrets: Mapping[str, str], tokens: Collection[str] = ()
) -> PageRequest:
    """`request` as it may be saved: its link without credential-bearing parameters.

    `names`: parameter names that always carry a credential (compared case-insensitively); `secrets`: each secret
    value of the configuration by the configuration key that holds it (empty values are ignored); `tokens`: secrets
    of the sync that no configuration key holds (a session's token): taken out, not added back.
    """
    if request.url is None:
        return request
    parts = urlsplit(request.url)
    if not parts.query and not parts.fragment:
        return request
    lowered = {name.lower() for name in names}
    by_value = {value: key for key, value in secrets.items() if value}
    dropped = {token for token in tokens if token}
    segments = parts.query.split("&") if parts.query else []
    kept, signed = [], list(request.signed)
    for segment in segments:
        name, _, value = segment.partition("=")
        plain_name, plain_value, raw_plus = unquote_plus(name), unquote_plus(value), unquote(value)
        key = by_value.get(plain_value) or by_value.get(raw_plus)
        secret = plain_value in dropped or raw_plus in dropped or plain_name.lower() in lowered
        if key is None and not secret:
            kept.append(segment)
            continue
        if key is not None:
            signed.append((plain_name, key))
    if len(kept) == len(segments) and not parts.fragment:
        return request
    url = urlunsplit(parts._replace(query="&".join(kept), fragment=""))
    return PageRequest(params=request.params, url=url, signed=tuple(signed))


def sign(request: PageRequest, values: Mapping[str, str]) -> PageRequest:
    """A saved request with its credentials added back from the configuration (`values`), ready to be sent. A key
    no longer configured is left out (the server then refuses the link, and the error says so)."""
    if request.url is None or not request.signed:
        return request
    parts = urlsplit(request.url)
    added = [f"{quote(name, safe='')}={quote(values[key], safe='')}" for name, key in request.signed if values.get(key)]
    query = "&".join(segment for segment in (parts.query, *added) if segment)
    return PageRequest(params=request.params, url=urlunsplit(parts._replace(query=query)))


def conceal(text: str, secrets: Iterable[str]) -> str:
    """`text` (a server's error message, which a hostile or careless server may fill with the credential it was
    sent) with each secret, as written or URL-encoded, replaced by `<redacted>`; and a tail that is the start of a
    secret (a message cut to its first characters cut the secret too) likewise."""
    values = sorted({value for value in secrets if value}, key=len, reverse=True)  # a token inside its header first
    for value in values:
        for form in (value, quote(value, safe=""), quote_plus(value)):
            text = text.replace(form, "<redacted>")
    for value in values:
        for length in range(len(value) - 1, MIN_PREFIX - 1, -1):
            if text.endswith(value[:length]):
                return text[:-length] + "<redacted>"
    return text
