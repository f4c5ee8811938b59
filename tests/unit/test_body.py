"""Bounded decoding of a response body: the decoded size is what the limit bounds, whatever the encoding."""

import gzip
import zlib

from async_core.errors import FatalError, RetryableError
from async_core.http.body import BodyTooLarge, BoundedBody
from tests.devtools import pytest

DOCUMENT = b'[{"id": 1, "title": "' + b"x" * 5000 + b'"}]'


def _decode(encoding: str | None, body: bytes, *, limit: int = 1 << 20, chunk: int = 1000) -> bytes:
    decoder = BoundedBody(encoding, limit=limit)
    for start in range(0, len(body), chunk):
        decoder.feed(body[start : start + chunk])
    return decoder.finish()


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        (None, DOCUMENT),
        ("identity", DOCUMENT),
        ("gzip", gzip.compress(DOCUMENT)),
        ("x-gzip", gzip.compress(DOCUMENT)),
        ("deflate", zlib.compress(DOCUMENT)),
        ("deflate", zlib.compress(DOCUMENT)[2:-4]),  # raw deflate, as some servers send it
        ("GZIP ", gzip.compress(DOCUMENT)),
    ],
)
def test_each_supported_encoding_decodes_to_the_document(encoding: str | None, body: bytes) -> None:
    """identity, gzip and deflate (wrapped or raw) give back the same bytes, fed in small chunks."""
    assert _decode(encoding, body) == DOCUMENT


def test_concatenated_gzip_members_are_all_decoded() -> None:
    """A gzip stream of two members decodes to both."""
    assert _decode("gzip", gzip.compress(b"[1,") + gzip.compress(b"2]")) == b"[1,2]"


def test_a_body_of_exactly_the_limit_passes_and_one_byte_more_is_refused() -> None:
    """The limit is inclusive, for plain and compressed bodies alike."""
    assert _decode(None, b"x" * 100, limit=100) == b"x" * 100
    assert _decode("gzip", gzip.compress(b"x" * 100), limit=100) == b"x" * 100
    with pytest.raises(BodyTooLarge):
        _decode(None, b"x" * 101, limit=100)
    with pytest.raises(BodyTooLarge):
        _decode("gzip", gzip.compress(b"x" * 101), limit=100)


def test_a_bomb_is_refused_with_the_output_of_one_call_bounded_by_the_limit() -> None:
    """64 MiB of zeros in one ~64 KiB gzip chunk under a 1 MiB limit: refused, buffer never past limit + 1."""
    bomb = gzip.compress(bytes(64 << 20), compresslevel=9)
    decoder = BoundedBody("gzip", limit=1 << 20)
    with pytest.raises(BodyTooLarge):
        decoder.feed(bomb)
    assert len(decoder._buffer) == (1 << 20) + 1


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress", "gzip, br"])
def test_an_encoding_we_did_not_ask_for_is_refused_clearly(encoding: str) -> None:
    """A Content-Encoding other than identity, gzip or deflate is a FatalError that names it."""
    with pytest.raises(FatalError, match="unsupported Content-Encoding"):
        BoundedBody(encoding, limit=100)


def test_a_corrupt_or_cut_compressed_body_is_retryable() -> None:
    """Garbage instead of gzip, or a gzip stream cut short: RetryableError (as for invalid JSON)."""
    with pytest.raises(RetryableError, match="corrupt gzip"):
        _decode("gzip", b"not gzip at all")
    with pytest.raises(RetryableError, match="ended before"):
        _decode("gzip", gzip.compress(DOCUMENT)[:-20])
