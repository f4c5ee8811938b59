"""Table specs: the transform and schema follow from the declaration."""

import datetime as dt

from async_core.errors import RecordError
from async_core.source.spec import schema_for
from async_core.source.sync_tables import SYNC_ERRORS, SYNC_RUNS
from sources.jsonplaceholder import SOURCE, TABLES
from tests.devtools import pytest

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_six_tables_with_snake_case_foreign_keys() -> None:
    """The JSONPlaceholder collections, with user_id, post_id, album_id and thumbnail_url."""
    assert list(TABLES) == ["users", "posts", "comments", "albums", "photos", "todos"]
    columns = {name: [c.name for c in spec.columns] for name, spec in TABLES.items()}
    assert "user_id" in columns["posts"]
    assert "user_id" in columns["albums"]
    assert "user_id" in columns["todos"]
    assert "post_id" in columns["comments"]
    assert columns["photos"] == ["id", "album_id", "title", "url", "thumbnail_url"]


def test_transform_renames_keeps_json_and_adds_processed_at() -> None:
    """A user keeps address and company as JSON objects; every row gets processed_at; a field the API added
    later is kept as a column of its own."""
    user = {
        "id": 1,
        "name": "Leanne",
        "username": "Bret",
        "email": "a@b.c",
        "address": {"city": "Gwenborough", "geo": {"lat": "-37.3", "lng": "81.1"}},
        "phone": "1",
        "website": "x.org",
        "company": {"name": "R-C"},
        "lastLogin": "2024-05-01",
    }
    row = TABLES["users"].transform(user, NOW)
    assert row["address"] == {"city": "Gwenborough", "geo": {"lat": "-37.3", "lng": "81.1"}}
    assert row["processed_at"] == NOW
    assert row["last_login"] == "2024-05-01"
    post = TABLES["posts"].transform({"userId": 2, "id": 11, "title": "t", "body": "b"}, NOW)
    assert post == {"id": 11, "user_id": 2, "title": "t", "body": "b", "processed_at": NOW}


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"userId": 1, "title": "t", "body": "b"}, "'id' is missing"),
        ({"id": None, "userId": 1, "title": "t", "body": "b"}, "'id' is missing"),
        ({"id": "7", "userId": 1, "title": "t", "body": "b"}, "'id' should be INT, got str"),
        ({"id": True, "userId": 1, "title": "t", "body": "b"}, "'id' should be INT, got bool"),
        ({"id": 7, "userId": 1, "title": 5.5, "body": "b"}, "'title' should be STRING, got float"),
        ([1, 2], "expected a JSON object, got list"),
    ],
)
def test_invalid_records_are_refused_with_a_reason(record: object, message: str) -> None:
    """Missing ids and wrong types are RecordErrors (they go to sync_errors), never silently coerced."""
    with pytest.raises(RecordError, match=message):
        TABLES["posts"].transform(record, NOW)


def test_schema_declares_types_keys_and_the_sync_tables() -> None:
    """schema() has the selected tables, typed, keyed on id, plus sync_runs and sync_errors."""
    entries = {entry["table"]: entry for entry in schema_for(SOURCE, ("users", "todos"))}
    assert list(entries) == ["users", "todos", SYNC_RUNS, SYNC_ERRORS]
    assert entries["users"]["primary_key"] == ["id"]
    assert entries["users"]["columns"]["address"] == "JSON"
    assert entries["todos"]["columns"] == {
        "id": "INT",
        "user_id": "INT",
        "title": "STRING",
        "completed": "BOOLEAN",
        "processed_at": "UTC_DATETIME",
    }


def test_an_integer_in_a_string_column_is_written_as_text() -> None:
    """STRING takes integers as text (ids declared STRING); a title of 5 becomes "5"."""
    post = TABLES["posts"].transform({"userId": 2, "id": 11, "title": 5, "body": "b"}, NOW)
    assert post["title"] == "5"
