"""The generated collections: counts, shapes, exact values, foreign keys, determinism across processes."""

import os
import subprocess
import sys

from async_core.playground import COLLECTION_SIZES, Dataset, generate_collection
from async_core.playground.data import FOREIGN_KEYS
from tests.devtools import pytest

FIELDS = {
    "users": ["id", "name", "username", "email", "address", "phone", "website", "company"],
    "posts": ["userId", "id", "title", "body"],
    "comments": ["postId", "id", "name", "email", "body"],
    "albums": ["userId", "id", "title"],
    "photos": ["albumId", "id", "title", "url", "thumbnailUrl"],
    "todos": ["userId", "id", "title", "completed"],
}
PARENTS = {"posts": "users", "comments": "posts", "albums": "users", "photos": "albums", "todos": "users"}


def test_sizes_are_the_real_apis() -> None:
    assert COLLECTION_SIZES == {"users": 10, "posts": 100, "comments": 500, "albums": 100, "photos": 5000, "todos": 200}


@pytest.mark.parametrize("scale", [1, 3])
def test_every_collection_has_its_rows_with_ids_in_order(scale: int) -> None:
    for name, size in COLLECTION_SIZES.items():
        rows = generate_collection(name, scale)
        assert len(rows) == size * scale
        assert [row["id"] for row in rows] == list(range(1, size * scale + 1))


def test_rows_have_the_real_apis_fields_and_types() -> None:
    dataset = Dataset()
    for name, fields in FIELDS.items():
        row = dataset.row(name, 1)
        assert row is not None
        assert list(row) == fields
    user = dataset.row("users", 1)
    assert user is not None
    assert list(user["address"]) == ["street", "suite", "city", "zipcode", "geo"]
    assert list(user["address"]["geo"]) == ["lat", "lng"]
    assert all(isinstance(value, str) for value in user["address"]["geo"].values())
    assert list(user["company"]) == ["name", "catchPhrase", "bs"]
    assert all(isinstance(row["completed"], bool) for row in generate_collection("todos"))
    assert {row["completed"] for row in generate_collection("todos")} == {True, False}


def test_exact_values_of_a_sample() -> None:
    """Pinned: a change here changes every warehouse built from the playground."""
    dataset = Dataset()
    assert dataset.row("posts", 1) == {
        "userId": 1,
        "id": 1,
        "title": "et commodo beatae irure",
        "body": "labore in dolore fugiat dicta in dicta natus consectetur elit voluptate\n"
        "neque porro dicta quis dolore et eiusmod rerum laborum\n"
        "cillum irure amet natus quo culpa laboris laborum sint anim molestiae quis proident esse\n"
        "molestiae neque elit amet laboris anim sit quo pariatur do magna sit",
    }
    assert dataset.row("photos", 7) == {
        "albumId": 1,
        "id": 7,
        "title": "sunt elit est omnis autem quo",
        "url": "https://via.placeholder.com/600/f5433d",
        "thumbnailUrl": "https://via.placeholder.com/150/f5433d",
    }
    assert dataset.row("todos", 2) == {
        "userId": 1,
        "id": 2,
        "title": "ut laboris accusamus minim fugit sint",
        "completed": True,
    }
    user = dataset.row("users", 4)
    assert user is not None
    assert (user["name"], user["username"], user["email"]) == ("Åsa Howell", "Asa.Howell4", "Asa.Howell4@culpa.tv")


def test_text_has_multi_line_bodies_and_non_ascii_names() -> None:
    assert all(row["body"].count("\n") == 3 for row in generate_collection("posts"))
    assert all(row["body"].count("\n") in (2, 3) for row in generate_collection("comments"))
    names = [row["name"] for row in generate_collection("users")]
    assert sum(not name.isascii() for name in names) == 2  # users 4 and 8
    assert all(row["email"].isascii() and "@" in row["email"] for row in generate_collection("users"))
    assert len({row["username"] for row in generate_collection("users", 3)}) == 30


@pytest.mark.parametrize("scale", [1, 3])
def test_foreign_keys_follow_the_real_layout_and_point_at_existing_rows(scale: int) -> None:
    dataset = Dataset(scale)
    for name, (field, per_parent) in FOREIGN_KEYS.items():
        parents = dataset.size(PARENTS[name])
        for row in generate_collection(name, scale):
            assert row[field] == (row["id"] - 1) // per_parent + 1
            assert 1 <= row[field] <= parents
    assert [row["userId"] for row in generate_collection("posts")][9:11] == [1, 2]
    assert generate_collection("photos", scale)[-1]["albumId"] == 100 * scale


def test_rows_do_not_depend_on_scale_and_out_of_range_is_none() -> None:
    assert Dataset(1).row("comments", 77) == Dataset(5).row("comments", 77)
    assert Dataset(1).row("users", 11) is None
    assert Dataset(2).row("users", 11) is not None
    assert Dataset(1).row("users", 0) is None
    assert Dataset(1).rows("users", [10, 11, 1]) == [Dataset(1).row("users", 10), Dataset(1).row("users", 1)]


def test_generation_is_the_same_in_another_process() -> None:
    """Seeds come from crc32, not hash(): another interpreter (another PYTHONHASHSEED) builds the same rows."""
    code = "from async_core.playground import Dataset; print(Dataset(2).row('comments', 999))"
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "123"},
    )
    assert other.stdout.strip() == str(Dataset(2).row("comments", 999))


def test_matching_ids_by_foreign_key_id_and_other_fields() -> None:
    dataset = Dataset(2)
    assert list(dataset.matching_ids("posts", {"userId": ("2",)})) == list(range(11, 21))
    assert list(dataset.matching_ids("posts", {"userId": ("3", "1")})) == [*range(1, 11), *range(21, 31)]
    assert list(dataset.matching_ids("posts", {"userId": ("21",)})) == []
    assert list(dataset.matching_ids("posts", {"id": ("5", "7"), "userId": ("1",)})) == [5, 7]
    completed = [row["id"] for row in generate_collection("todos", 2) if row["completed"] and row["userId"] == 1]
    assert list(dataset.matching_ids("todos", {"completed": ("true",), "userId": ("1",)})) == completed
    assert list(dataset.matching_ids("users", {"nope": ("1",)})) == []


def test_scale_must_be_a_positive_integer() -> None:
    for bad in (0, -1, True):
        with pytest.raises(ValueError, match="scale must be an integer"):
            Dataset(bad)


def test_a_large_page_is_cheap() -> None:
    """At scale 20, photos are 100,000 rows; a page of 100 far into them needs only its own rows."""
    dataset = Dataset(20)
    rows = dataset.rows("photos", range(99_901, 100_001))
    assert [row["id"] for row in rows] == list(range(99_901, 100_001))
    assert rows[-1]["albumId"] == 2000
