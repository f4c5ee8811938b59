"""The playground's data: the six JSONPlaceholder collections, generated in code, deterministically.

Contract:
- `COLLECTION_SIZES` are the real API's row counts; a `Dataset(scale)` has `scale` times as many rows of each.
- Ids run from 1 to `size(collection)`. Foreign keys follow JSONPlaceholder's layout (post i belongs to user
  (i-1)//10+1, and so on, see `FOREIGN_KEYS`), which at any scale points every row at an existing parent.
- `row(collection, id)` depends only on (collection, id): the same row in every process, on every run, at every
  scale. Rows are built on demand, so a page of a 5-million-row collection costs only its own rows.
- Field names and shapes are the real API's (camelCase, `geo.lat`/`geo.lng` as strings, `completed` a bool,
  multi-line bodies); the text is latin words, with some non-ASCII names.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Row = dict[str, Any]

COLLECTION_SIZES: dict[str, int] = {
    "users": 10,
    "posts": 100,
    "comments": 500,
    "albums": 100,
    "photos": 5000,
    "todos": 200,
}
COLLECTIONS: tuple[str, ...] = tuple(COLLECTION_SIZES)

# collection -> (foreign key field, rows per parent): row i has parent (i-1)//per_parent + 1.
FOREIGN_KEYS: dict[str, tuple[str, int]] = {
    "posts": ("userId", 10),
    "comments": ("postId", 5),
    "albums": ("userId", 10),
    "photos": ("albumId", 50),
    "todos": ("userId", 20),
}


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_WORDS = _split(
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore "
    "magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo "
    "consequat duis aute irure in reprehenderit voluptate velit esse cillum fugiat nulla pariatur excepteur sint "
    "occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim id est laborum quia molestiae "
    "repellat accusamus beatae ipsa voluptatem nam rerum quo neque dicta fugit autem omnis natus porro"
)
_FIRST_NAMES = _split(
    "Leanne Ervin Clementine Patricia Chelsey Dennis Kurtis Nicholas Glenna Clementina Bret Antonette Samantha "
    "Karianne Kamren Leopoldo Elwyn Maxime Delphine Moriah"
)
# Every fourth user gets one of these, so that clients meet UTF-8 in names at any scale.
_NON_ASCII_FIRST_NAMES = _split("Zoë José Renée Łukasz Søren Chloé Jürgen Małgorzata François Åsa")
_LAST_NAMES = _split(
    "Graham Howell Bauch Lebsack Dietrich Schulist Weissnat Runolfsdottir Reichert DuBuque Kulas Nienow Hoeger "
    "Romaguera Crona Keebler Considine Deckow Kuhn Yost"
)
_STREET_SUFFIXES = _split("Light Extension Plains Mission Stravenue Walks Skyway Crossing Gardens Ridge")
_CITIES = (
    "Gwenborough",
    "Wisokyburn",
    "McKenziehaven",
    "South Elvis",
    "Roscoeview",
    "South Christy",
    "Howemouth",
    "Aliyaview",
    "Bartholomebury",
    "Lebsackbury",
    "Zürich",
    "Malmö",
)
_TLDS = _split("org net info biz com io tv name")
_CATCH = (
    _split("Multi-layered Proactive Face-to-face Synchronised Configurable Implemented Switchable Centralized"),
    _split("client-server didactic bifurcated full-range 24/7 dynamic tertiary well-modulated"),
    _split("neural-net contingency framework toolset interface attitude hierarchy function"),
)
_BS = (
    _split("harness synergize e-enable aggregate transition revolutionize generate target"),
    _split("real-time scalable bricks-and-clicks end-to-end plug-and-play B2C web-enabled robust"),
    _split("e-markets supply-chains markets methodologies models users communities metrics"),
)


class _Text:
    """Pseudo-random text from a `random.Random` seeded by the row; the same seed gives the same text."""

    __slots__ = ("rng",)

    def __init__(self, collection: str, row_id: int) -> None:
        # crc32 (not hash()) so that the seed is the same in every process, whatever PYTHONHASHSEED is.
        self.rng = random.Random((zlib.crc32(collection.encode()) << 40) ^ row_id)

    def words(self, low: int, high: int) -> str:
        return " ".join(self.rng.choices(_WORDS, k=self.rng.randint(low, high)))

    def lines(self, count: int) -> str:
        """`count` lines of 8 to 14 words joined by "\\n", like the real API's bodies."""
        return "\n".join(self.words(8, 14) for _ in range(count))

    def digits(self, count: int) -> str:
        return "".join(str(self.rng.randrange(10)) for _ in range(count))

    def pick(self, options: tuple[str, ...]) -> str:
        return self.rng.choice(options)


def _parent(collection: str, row_id: int) -> int:
    return (row_id - 1) // FOREIGN_KEYS[collection][1] + 1


def _ascii(name: str) -> str:
    return name.translate(_ASCII_FOLD).encode("ascii", "ignore").decode()


_ASCII_FOLD = str.maketrans({"ë": "e", "é": "e", "Ł": "L", "ø": "o", "ü": "u", "ł": "l", "ç": "c", "Å": "A"})


def _user(row_id: int) -> Row:
    text = _Text("users", row_id)
    first = text.pick(_NON_ASCII_FIRST_NAMES if row_id % 4 == 0 else _FIRST_NAMES)
    last = text.pick(_LAST_NAMES)
    # The id in the username keeps usernames and emails unique at any scale.
    username = f"{_ascii(first)}.{last}{row_id}"
    domain = f"{text.pick(_WORDS)}.{text.pick(_TLDS)}"
    lat = text.rng.uniform(-90, 90)
    lng = text.rng.uniform(-180, 180)
    extension = f" x{text.digits(5)}" if text.rng.random() < 0.5 else ""
    return {
        "id": row_id,
        "name": f"{first} {last}",
        "username": username,
        "email": f"{username}@{domain}",
        "address": {
            "street": f"{text.pick(_LAST_NAMES)} {text.pick(_STREET_SUFFIXES)}",
            "suite": f"{text.pick(('Apt.', 'Suite'))} {text.rng.randint(100, 999)}",
            "city": text.pick(_CITIES),
            "zipcode": f"{text.digits(5)}-{text.digits(4)}",
            "geo": {"lat": f"{lat:.4f}", "lng": f"{lng:.4f}"},
        },
        "phone": f"1-{text.digits(3)}-{text.digits(3)}-{text.digits(4)}{extension}",
        "website": f"{text.pick(_WORDS)}.{text.pick(_TLDS)}",
        "company": {
            "name": f"{text.pick(_LAST_NAMES)}-{text.pick(_LAST_NAMES)}",
            "catchPhrase": " ".join(text.pick(part) for part in _CATCH),
            "bs": " ".join(text.pick(part) for part in _BS),
        },
    }


def _post(row_id: int) -> Row:
    text = _Text("posts", row_id)
    return {"userId": _parent("posts", row_id), "id": row_id, "title": text.words(3, 9), "body": text.lines(4)}


def _comment(row_id: int) -> Row:
    text = _Text("comments", row_id)
    email = f"{text.pick(_FIRST_NAMES)}@{text.pick(_WORDS)}.{text.pick(_TLDS)}"
    return {
        "postId": _parent("comments", row_id),
        "id": row_id,
        "name": text.words(3, 7),
        "email": email,
        "body": text.lines(text.rng.randint(3, 4)),
    }


def _album(row_id: int) -> Row:
    return {"userId": _parent("albums", row_id), "id": row_id, "title": _Text("albums", row_id).words(2, 6)}


def _photo(row_id: int) -> Row:
    text = _Text("photos", row_id)
    title = text.words(3, 8)
    color = f"{text.rng.getrandbits(24):06x}"
    return {
        "albumId": _parent("photos", row_id),
        "id": row_id,
        "title": title,
        "url": f"https://via.placeholder.com/600/{color}",
        "thumbnailUrl": f"https://via.placeholder.com/150/{color}",
    }


def _todo(row_id: int) -> Row:
    text = _Text("todos", row_id)
    title = text.words(2, 7)
    return {"userId": _parent("todos", row_id), "id": row_id, "title": title, "completed": text.rng.random() < 0.45}


_BUILDERS: dict[str, Callable[[int], Row]] = {
    "users": _user,
    "posts": _post,
    "comments": _comment,
    "albums": _album,
    "photos": _photo,
    "todos": _todo,
}


def _matches(value: object, wanted: tuple[str, ...]) -> bool:
    """json-server's equality filter compares the query string with the value's text (`true`, not `True`)."""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return text in wanted


def _all_match(row: Row, filters: Mapping[str, tuple[str, ...]]) -> bool:
    return all(_matches(row.get(field), wanted) for field, wanted in filters.items())


class Dataset:
    """The six collections at one scale. Rows are built on demand; nothing is held but the scale.

    `scale` must be an int >= 1. Unknown collection names raise KeyError.
    """

    __slots__ = ("scale",)

    def __init__(self, scale: int = 1) -> None:
        if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
            raise ValueError(f"scale must be an integer >= 1, got {scale!r}")
        self.scale = scale

    def size(self, collection: str) -> int:
        """The row count of `collection` at this scale."""
        return COLLECTION_SIZES[collection] * self.scale

    def row(self, collection: str, row_id: int) -> Row | None:
        """The row with this id, or None when the id is out of range."""
        if not 1 <= row_id <= self.size(collection):
            return None
        return _BUILDERS[collection](row_id)

    def rows(self, collection: str, ids: Iterable[int]) -> list[Row]:
        """The rows with these ids, in that order; ids out of range are skipped."""
        size = self.size(collection)
        build = _BUILDERS[collection]
        return [build(row_id) for row_id in ids if 1 <= row_id <= size]

    def matching_ids(self, collection: str, filters: Mapping[str, tuple[str, ...]]) -> range | list[int]:
        """The ids, ascending, of the rows whose top-level fields equal one of the wanted values of each filter.

        No filters: every id (a `range`, so nothing is built). Filters on `id` and on the collection's foreign key
        are answered by arithmetic; filters on other fields build the candidate rows to compare.
        """
        candidates: range | list[int] = range(1, self.size(collection) + 1)
        rest = dict(filters)
        if "id" in rest:
            wanted_ids = rest.pop("id")
            candidates = [row_id for row_id in candidates if str(row_id) in wanted_ids]
        if collection in FOREIGN_KEYS and FOREIGN_KEYS[collection][0] in rest:
            field, per_parent = FOREIGN_KEYS[collection]
            parents = {int(value) for value in rest.pop(field) if value.isdigit()}
            candidates = [
                row_id
                for parent in sorted(parents)
                for row_id in range((parent - 1) * per_parent + 1, parent * per_parent + 1)
                if row_id in candidates  # O(1) on a range; the lists here are short
            ]
        if not rest:
            return candidates
        build = _BUILDERS[collection]
        return [row_id for row_id in candidates if _all_match(build(row_id), rest)]


def generate_collection(collection: str, scale: int = 1) -> list[Row]:
    """Every row of `collection` at `scale`, by id. Convenient for tests; the server builds pages instead."""
    dataset = Dataset(scale)
    return dataset.rows(collection, range(1, dataset.size(collection) + 1))
