"""What the server saw: one frozen record per request, kept in memory for tests to assert on.

Contract: a record is appended when the request is done (answered, aborted, or cancelled at shutdown), with the
monotonic time of its arrival. `status` is the HTTP status sent, or 0 when no response was sent (a `reset`, or a
handler cancelled at shutdown). Appending is a list append: cheap enough for ~100k requests per run. With
`maxlen`, only the last records are kept, but the counters cover every request.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, deque
from collections.abc import Iterator

NO_RESPONSE = 0


@dataclasses.dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request as the server saw it."""

    time: float  # time.monotonic() at arrival
    method: str
    path: str
    query: str  # the raw query string, without "?"
    fault: str | None  # the fault applied (a FaultKind), or None
    status: int  # the status sent; NO_RESPONSE (0) when none was


class RequestLog:
    """The records of the requests a server handled, oldest first, and counters over all of them."""

    def __init__(self, maxlen: int | None = None) -> None:
        self._records: deque[RequestRecord] = deque(maxlen=maxlen)
        self.total = 0
        self.faults: Counter[str] = Counter()

    def append(self, record: RequestRecord) -> None:
        self._records.append(record)
        self.total += 1
        if record.fault is not None:
            self.faults[record.fault] += 1

    def clear(self) -> None:
        """Forgets every record and resets the counters."""
        self._records.clear()
        self.total = 0
        self.faults.clear()

    def records(self) -> list[RequestRecord]:
        """A snapshot of the kept records (safe to iterate while the server keeps appending)."""
        return list(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.records())

    def __getitem__(self, index: int) -> RequestRecord:
        return self._records[index]
