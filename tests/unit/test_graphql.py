"""GraphQL and request bodies as declared: the errors array classified, relay pageInfo read, paging values set at
body paths (as JSON numbers where they count), and declarations that cannot work refused."""

from __future__ import annotations

from typing import Any

from async_core.errors import FatalError, RetryableError
from async_core.run.page_requests import with_values
from async_core.source import Column, GraphQL, PageNumber, Relay, TableSpec
from async_core.source.pagination import PageRequest
from tests.devtools import pytest

QUERY = GraphQL("query($first: Int!, $after: String) { orders { nodes { id } } }", variables={"shop": "s1"})
RELAY = Relay(page_info="data.orders.pageInfo")


def test_no_errors_is_no_error() -> None:
    """A body without `errors`, or with an empty array, is a page."""
    assert QUERY.error({"data": {"orders": {}}}, 200) is None
    assert QUERY.error({"data": {}, "errors": []}, 200) is None


@pytest.mark.parametrize(
    "error",
    [{"message": "slow down", "extensions": {"code": "THROTTLED"}}, {"message": "limit", "type": "RATE_LIMITED"}],
)
def test_a_code_that_says_later_is_retryable(error: dict[str, Any]) -> None:
    """Shopify's extensions.code and GitHub's type alike."""
    raised = QUERY.error({"data": None, "errors": [error]}, 200)
    assert isinstance(raised, RetryableError)
    assert raised.status == 200


def test_any_other_error_loses_the_page_and_says_what_the_server_said() -> None:
    """A resolver's failure, partial data included: fatal, with the first message and a count of the others."""
    body = {"data": {"orders": None}, "errors": [{"message": "boom", "path": ["orders"]}, {"message": "again"}]}
    raised = QUERY.error(body, 200)
    assert isinstance(raised, FatalError)
    assert not isinstance(raised, RetryableError)
    assert str(raised) == "GraphQL error: boom (and 1 more)"


def test_errors_that_are_not_an_array_are_fatal() -> None:
    assert isinstance(QUERY.error({"errors": "no"}, 200), FatalError)


def test_the_document_carries_the_declared_variables_and_the_paging_values() -> None:
    assert QUERY.document({"first": 10, "after": "c"}) == {
        "query": QUERY.query,
        "variables": {"shop": "s1", "first": 10, "after": "c"},
    }


def test_relay_goes_on_while_has_next_page_with_the_end_cursor() -> None:
    """hasNextPage true: the next request's `after`; false or missing: the last page."""
    more = RELAY.read({"data": {"orders": {"pageInfo": {"hasNextPage": True, "endCursor": "abc"}}}}, {}, {}, "")
    assert more.next == PageRequest(params=(("after", "abc"),))
    done = RELAY.read({"data": {"orders": {"pageInfo": {"hasNextPage": False, "endCursor": "abc"}}}}, {}, {}, "")
    assert done.last
    assert done.next is None
    assert RELAY.request(1, 25) == PageRequest(params=(("first", "25"),))
    assert RELAY.numbers() == frozenset({"first"})


@pytest.mark.parametrize(
    ("info", "why"),
    [
        (None, "no pageInfo object"),
        ({"hasNextPage": True, "endCursor": None}, "endCursor is None"),
        # A string (or 1) was read as "no next page": the walk ended after page 1 without a word
        ({"hasNextPage": "true", "endCursor": "abc"}, "hasNextPage is 'true', not a boolean"),
        ({"hasNextPage": 1, "endCursor": "abc"}, "hasNextPage is 1, not a boolean"),
    ],
)
def test_relay_refuses_a_page_info_it_cannot_follow(info: Any, why: str) -> None:
    with pytest.raises(FatalError, match=why):
        RELAY.read({"data": {"orders": {"pageInfo": info}}}, {}, {}, "")


def test_values_go_at_their_dotted_paths_on_a_copy() -> None:
    """Objects are created on the way; the declared body is left as it was."""
    declared = {"filter": {"status": "open"}}
    body = with_values(declared, {"page.number": 2, "filter.updated_after": "2024-01-01T00:00:00Z"})
    assert body == {"filter": {"status": "open", "updated_after": "2024-01-01T00:00:00Z"}, "page": {"number": 2}}
    assert declared == {"filter": {"status": "open"}}


def test_a_page_number_paginator_says_which_values_are_numbers() -> None:
    assert PageNumber(page_param="page.number", size_param="page.size").numbers() == {"page.number", "page.size"}


@pytest.mark.parametrize(
    ("options", "why"),
    [
        ({"paginator": RELAY}, "a Relay paginator needs a GraphQL body"),
        ({"body": {"q": 1}, "method": "GET"}, "a body goes with method POST"),
        ({"method": "DELETE"}, "method 'DELETE': expected GET or POST"),
    ],
)
def test_declarations_that_cannot_work_are_refused(options: dict[str, Any], why: str) -> None:
    with pytest.raises(ValueError, match=f"table 'orders': .*{why}"):
        TableSpec(name="orders", path="/graphql", columns=(Column("id", "id", "INT"),), **options)


def test_a_body_makes_the_table_a_post() -> None:
    table = TableSpec(name="orders", path="/graphql", columns=(Column("id", "id", "INT"),), body=QUERY, paginator=RELAY)
    assert table.http_method == "POST"
