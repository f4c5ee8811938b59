"""Reading a response body with a bound on its DECODED size, whatever its Content-Encoding.

The session is opened with `auto_decompress=False`: aiohttp would otherwise inflate a 64 KiB gzip body into
64 MiB before any limit could look at it (a decompression bomb). Here the body is inflated chunk by chunk with
`zlib.decompressobj(...).decompress(data, max_length)`, so no call ever produces more than the bytes still allowed
plus one: memory stays within `limit` + one network chunk, and the bomb is refused as soon as its output passes
the limit.

    identity, gzip, x-gzip, deflate     supported (deflate: zlib-wrapped, or raw as some servers send it)
    br, zstd, compress, anything else   refused with a `FatalError`: we never advertise
                                        them in Accept-Encoding (`ACCEPT_ENCODING`), so a server sending them
                                        ignored our request. Brotli is not installed with this connector, and
                                        its decoder's output could not be bounded per call without Brotli >= 1.2.
"""

from __future__ import annotations

import zlib

from async_core.errors import FatalError, RetryableError

ACCEPT_ENCODING = "gzip, deflate"

_GZIP = 16 + zlib.MAX_WBITS
_ZLIB = zlib.MAX_WBITS
_RAW_DEFLATE = -zlib.MAX_WBITS


class BodyTooLarge(Exception):
    """The decoded body passed the limit. Internal: the client turns it into its `too_large` FatalError."""


class BoundedBody:
    """Accumulates a body's decoded bytes, refusing (`BodyTooLarge`) as soon as they pass `limit`.

    `BoundedBody(content_encoding, *, limit)`; `feed(chunk)` for each raw chunk in order, then `finish()` for the
    decoded bytes. Raises `FatalError` at construction for an encoding it does not decode, and
    `RetryableError` when the compressed stream is corrupt or cut short (like invalid JSON: a proxy in trouble).
    """

    __slots__ = ("_buffer", "_decoder", "_encoding", "_limit", "_wbits")

    def __init__(self, content_encoding: str | None, *, limit: int) -> None:
        encoding = (content_encoding or "identity").strip().lower()
        if encoding in ("", "identity"):
            wbits = None
        elif encoding in ("gzip", "x-gzip"):
            wbits = _GZIP
        elif encoding == "deflate":
            wbits = _ZLIB
        else:
            raise FatalError(
                f"unsupported Content-Encoding {encoding!r}: only gzip and deflate are accepted ({ACCEPT_ENCODING!r} "
                "is what the connector asks for)"
            )
        self._encoding = encoding
        self._limit = limit
        self._wbits = wbits
        self._decoder = zlib.decompressobj(wbits) if wbits is not None else None
        self._buffer = bytearray()

    def feed(self, chunk: bytes) -> None:
        """Decode `chunk` and keep its output; `BodyTooLarge` once the decoded total passes `limit`."""
        if self._decoder is None:
            self._buffer += chunk
            if len(self._buffer) > self._limit:
                raise BodyTooLarge
            return
        data = chunk
        wbits = self._wbits
        assert wbits is not None  # a decoder exists only for an encoding with its window bits
        while data:
            try:
                out = self._decoder.decompress(data, self._limit - len(self._buffer) + 1)
            except zlib.error as exc:
                if wbits == _ZLIB and not self._buffer:
                    # "deflate" sent raw (without the zlib header), as some servers do: start over as raw.
                    self._wbits = wbits = _RAW_DEFLATE
                    self._decoder = zlib.decompressobj(_RAW_DEFLATE)
                    continue
                raise RetryableError(f"corrupt {self._encoding} body: {exc}") from exc
            self._buffer += out
            if len(self._buffer) > self._limit:
                raise BodyTooLarge
            data = self._decoder.unconsumed_tail
            if self._decoder.eof and self._decoder.unused_data:
                # A gzip stream may hold several members one after another: decode the next one too.
                data = self._decoder.unused_data + data
                self._decoder = zlib.decompressobj(wbits)

    def finish(self) -> bytes:
        """The decoded body. A compressed stream that ended early is a cut body (`RetryableError`)."""
        if self._decoder is not None and not self._decoder.eof:
            raise RetryableError(f"{self._encoding} body ended before its end of stream")
        return bytes(self._buffer)
