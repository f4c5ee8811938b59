"""Paginators: the parameters each asks for, and the facts each reads off a response. No I/O."""

from typing import Any

from async_core.errors import FatalError
from async_core.source.pagination import (
    STYLES,
    Cursor,
    HeaderLink,
    JsonLink,
    JsonServer,
    Offset,
    PageFacts,
    PageNumber,
    PageRequest,
    Single,
)
from async_core.source.records import MAX_COUNT, parse_count, records_at
from tests.devtools import pytest

URL = "https://api.example.com/items?page=1"


def read(paginator: Any, body: Any = None, headers: dict[str, str] | None = None, **links: str) -> PageFacts:
    facts: PageFacts = paginator.read(body, headers or {}, links, URL)
    return facts


# -- requests


def test_single_asks_for_nothing_and_sends_no_size() -> None:
    """One request without paging parameters."""
    assert Single().request(1, 25) == PageRequest()
    assert not Single().sends_size()
    assert read(Single(), [1, 2]) == PageFacts()


def test_page_number_asks_for_page_and_size() -> None:
    """Page 3 of 25: page=3, per_page=25."""
    assert PageNumber().request(3, 25) == PageRequest(params=(("page", "3"), ("per_page", "25")))


def test_page_number_counts_from_the_first_page_the_api_uses() -> None:
    """An API counting pages from 0 is asked for page 2 as the walk's third page."""
    paginator = PageNumber(page_param="p", size_param="n", first_page=0)
    assert paginator.request(3, 10) == PageRequest(params=(("p", "2"), ("n", "10")))


def test_offset_asks_for_the_rows_before_the_page() -> None:
    """Page 3 of 25: offset=50, limit=25."""
    assert Offset().request(3, 25) == PageRequest(params=(("offset", "50"), ("limit", "25")))


def test_json_server_asks_with_underscored_parameters() -> None:
    """json-server's `_page` and `_limit`."""
    assert JsonServer().request(2, 10) == PageRequest(params=(("_page", "2"), ("_limit", "10")))


@pytest.mark.parametrize("paginator", [JsonLink(), HeaderLink(), Cursor()])
def test_walked_styles_without_a_size_parameter_send_none(paginator: Any) -> None:
    """No size_param: the first request has no parameters and the walk cannot tell a capped size."""
    assert paginator.request(1, 25) == PageRequest()
    assert not paginator.sends_size()


@pytest.mark.parametrize("paginator", [JsonLink(size_param="limit"), HeaderLink(size_param="limit")])
def test_walked_styles_with_a_size_parameter_send_it(paginator: Any) -> None:
    """size_param "limit": the first request says limit=25."""
    assert paginator.request(1, 25) == PageRequest(params=(("limit", "25"),))
    assert paginator.sends_size()


def test_only_page_number_and_offset_are_addressable() -> None:
    """Page N can be asked for without the pages before it only by number or offset."""
    assert {name for name, cls in STYLES.items() if cls.addressable} == {"page_number", "offset", "json_server"}


# -- facts


def test_page_number_reads_the_total_from_a_header() -> None:
    """total_header X-Total: 95 items."""
    assert read(PageNumber(total_header="X-Total"), [], {"X-Total": "95"}) == PageFacts(total_items=95)


def test_page_number_reads_the_total_and_pages_from_the_body() -> None:
    """The api-playground's body: total_items 200, total_pages 8."""
    paginator = PageNumber(total_path="total_items", total_pages_path="total_pages")
    body = {"data": [], "total_items": 200, "total_pages": 8}
    assert read(paginator, body) == PageFacts(total_items=200, total_pages=8)


def test_a_dotted_total_path_reads_a_nested_count() -> None:
    """total_path meta.total reaches into the body."""
    assert read(Offset(total_path="meta.total"), {"meta": {"total": "42"}}) == PageFacts(total_items=42)


def test_no_total_anywhere_is_none() -> None:
    """A page without a total says nothing about the rest."""
    assert read(PageNumber(total_header="X-Total", total_path="total"), {"data": []}) == PageFacts()


def test_json_link_reads_the_next_url_resolved_against_the_page() -> None:
    """A relative next link becomes an absolute URL; the walk is not over."""
    facts = read(JsonLink(next_path="links.next"), {"links": {"next": "/items?page=2"}})
    assert facts == PageFacts(next=PageRequest(url="https://api.example.com/items?page=2"))


@pytest.mark.parametrize("body", [{"next": None}, {"next": ""}, {}])
def test_json_link_without_a_next_url_is_the_last_page(body: Any) -> None:
    """null, "" or no field: the last page."""
    assert read(JsonLink(), body) == PageFacts(last=True)


def test_json_link_reads_a_total_from_the_body() -> None:
    """total_path total_items: the walk knows how many rows to expect."""
    facts = read(
        JsonLink(next_path="next_page_url", total_path="total_items"), {"next_page_url": None, "total_items": 7}
    )
    assert facts == PageFacts(total_items=7, last=True)


def test_a_next_link_that_is_not_a_string_is_fatal() -> None:
    """A number where the next URL should be is the API answering something else: FatalError."""
    with pytest.raises(FatalError, match="the next link 'next' is not a URL: int"):
        read(JsonLink(), {"next": 2})


def test_header_link_follows_rel_next() -> None:
    """Link rel="next" is the next request; without it the page is the last."""
    assert read(HeaderLink(), [], next="https://api.example.com/items?page=2") == PageFacts(
        next=PageRequest(url="https://api.example.com/items?page=2")
    )
    assert read(HeaderLink(), [], first="https://api.example.com/items?page=1") == PageFacts(last=True)


def test_cursor_sends_the_token_back_as_a_parameter() -> None:
    """scroll_param "abc" in the body: the next request has scroll_param=abc."""
    paginator = Cursor(cursor_path="scroll_param", cursor_param="scroll_param")
    assert read(paginator, {"data": [], "scroll_param": "abc"}) == PageFacts(
        next=PageRequest(params=(("scroll_param", "abc"),))
    )


def test_an_integer_cursor_is_sent_as_text() -> None:
    """A numeric token 42 becomes cursor=42."""
    assert read(Cursor(), {"next_cursor": 42}).next == PageRequest(params=(("cursor", "42"),))


@pytest.mark.parametrize("body", [{"next_cursor": None}, {"next_cursor": ""}, {}])
def test_a_missing_cursor_is_the_last_page(body: Any) -> None:
    """null, "" or no token: the walk ends."""
    assert read(Cursor(), body) == PageFacts(last=True)


@pytest.mark.parametrize("token", [True, {"a": 1}, [1], 1.5])
def test_a_cursor_of_another_type_is_fatal(token: Any) -> None:
    """A boolean, an object, a list or a float is not a token."""
    with pytest.raises(FatalError, match="the cursor 'next_cursor' is not a string"):
        read(Cursor(), {"next_cursor": token})


def test_json_server_prefers_the_total_over_links() -> None:
    """X-Total-Count present: the Link header is not needed (pages are addressable)."""
    facts = read(JsonServer(), [], {"X-Total-Count": "100"}, next="https://api.example.com/items?_page=2")
    assert facts == PageFacts(total_items=100)


def test_json_server_falls_back_to_the_link_header() -> None:
    """No X-Total-Count: rel="next" is followed; a Link without next is the last page."""
    facts = read(JsonServer(), [], next="https://api.example.com/items?_page=2")
    assert facts == PageFacts(next=PageRequest(url="https://api.example.com/items?_page=2"))
    assert read(JsonServer(), [], first="https://api.example.com/items?_page=1") == PageFacts(last=True)


def test_json_server_without_total_or_links_knows_nothing() -> None:
    """Neither header: the walk goes page by page until an empty page."""
    assert read(JsonServer(), []) == PageFacts()


# -- strict counts


@pytest.mark.parametrize(("value", "number"), [("0", 0), (" 95 ", 95), (200, 200), (str(MAX_COUNT), MAX_COUNT)])
def test_counts_are_ascii_digits_or_integers(value: Any, number: int) -> None:
    """A header's digits (spaces trimmed) or a JSON integer, up to MAX_COUNT."""
    assert parse_count(value, "the total") == number


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1" * 400, "the total is not a count: '1111111111111111111111111111111111111111…'"),
        ("-1", "the total is not a count: '-1'"),
        ("1e3", "the total is not a count: '1e3'"),
        ("١٢", "the total is not a count: '١٢'"),
        ("", "the total is not a count: ''"),
        (True, "the total is not a count: True"),
        (1.5, "the total is not a count: 1.5"),
        (None, "the total is not a count: None"),
        (-5, "the total is out of range: -5"),
        (MAX_COUNT + 1, f"the total is out of range: {MAX_COUNT + 1}"),
        ("99999999999999999", "the total is not a count: '99999999999999999'"),
    ],
)
def test_a_malformed_count_is_a_fatal_error_naming_it(value: Any, message: str) -> None:
    """400 digits, signs, exponents, non-ASCII digits, floats, booleans: FatalError, never an overflow."""
    with pytest.raises(FatalError) as caught:
        parse_count(value, "the total")
    assert str(caught.value) == message


def test_a_400_digit_total_header_is_a_fatal_error() -> None:
    """X-Total-Count of 400 digits: FatalError naming the header, not a crash."""
    with pytest.raises(FatalError, match="^the X-Total-Count header is not a count: '1111"):
        read(JsonServer(), [], {"X-Total-Count": "1" * 400})


def test_a_malformed_body_total_names_its_path() -> None:
    """total_items "many": FatalError naming total 'total_items' in the body."""
    with pytest.raises(FatalError, match="total 'total_items' in the body is not a count: 'many'"):
        read(Offset(total_path="total_items"), {"total_items": "many"})


def test_a_malformed_total_pages_is_a_fatal_error() -> None:
    """total_pages -3: FatalError."""
    with pytest.raises(FatalError, match="total pages 'total_pages' in the body is out of range: -3"):
        read(PageNumber(total_pages_path="total_pages"), {"total_pages": -3})


# -- records


def test_records_are_read_at_their_envelope_path() -> None:
    """ "" is the body itself; "data" and "result.items" reach into it."""
    assert records_at([1, 2], ()) == [1, 2]
    assert records_at({"data": [3]}, ("data",)) == [3]
    assert records_at({"result": {"items": [4]}}, ("result", "items")) == [4]


def test_a_body_without_records_at_the_path_is_fatal() -> None:
    """An error envelope where a page should be: FatalError saying what came instead."""
    with pytest.raises(FatalError, match="expected a JSON array of records at 'data', got NoneType"):
        records_at({"error": "nope"}, ("data",))
    with pytest.raises(FatalError, match="expected a JSON array of records as the body, got dict"):
        records_at({"data": []}, ())


def test_an_envelope_where_records_were_expected_says_where_its_lists_are() -> None:
    """json-server 1.0 answers `_page` with {"first": 1, ..., "data": [...]}: the error names `records=`."""
    with pytest.raises(FatalError, match=r"got dict; the table's records= would be 'data'$"):
        records_at({"first": 1, "pages": 3, "data": [{"id": "1"}]}, ())
    with pytest.raises(FatalError, match=r"at 'result', got dict; the table's records= would be 'result.items'$"):
        records_at({"result": {"items": [], "total": 0}}, ("result",))
