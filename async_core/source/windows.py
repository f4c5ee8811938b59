"""Time-window incremental sync: a table read in windows [start, end) of `step` seconds, from `initial_value` to now
less `lag`, each window sent as two parameters (`start_param`, `end_param`). No I/O here.

    TableSpec(..., windows=Windows(start_param="from", end_param="to", initial_value="2024-01-01T00:00:00Z",
                                   step=86400, lag=3600, max_rows=1000))

Windows are addressable units (as a child table's parents are): they fan out under the concurrency limit, each a
walk of the table's paginator, and a pass completes when every window of it has. The table's mark is the end of the
contiguous prefix of finished windows: windows finish out of order, and a lost window holds the mark at its start
while the windows after it stay done (the open pass records them), so the next sync fetches the lost one only. A new
pass plans from the mark to now less `lag` (the API's data for the last `lag` seconds may still change). A window
that returns `max_rows` rows (APIs cap a window's result) is split in two and each half fetched, down to `min_step`
seconds; a window still capped at `min_step` is lost (the mark holds) and says why.

A window's key in the state is its bounds, `"<start>/<end>"` (ISO 8601, UTC): the grid of a plan starts at the mark,
so a resumed pass finds its done windows again; the last window ends at now less lag, so its key changes with now
and it is fetched again (upserts absorb the rows it had).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterable

from async_core.source.types import parse_timestamp

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_WINDOWS = 100_000  # a plan longer than this is refused (a step of a second over years)


@dataclasses.dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime

    @property
    def key(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"

    @classmethod
    def from_key(cls, key: str) -> Window | None:
        start, _, end = key.partition("/")
        try:
            return cls(dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end))
        except ValueError:
            return None


@dataclasses.dataclass(frozen=True)
class Windows:
    """How a table is read in time windows (see the module docstring). `format`: how a bound is written (strftime,
    UTC; "%s" epoch seconds, "%ms" epoch milliseconds)."""

    start_param: str
    end_param: str
    initial_value: str
    step: float = 86400.0
    lag: float = 0.0
    format: str = "%Y-%m-%dT%H:%M:%SZ"
    max_rows: int | None = None
    min_step: float = 1.0

    def __post_init__(self) -> None:
        problems = []
        try:
            parse_timestamp(self.initial_value, "initial_value")
        except Exception:
            problems.append(f"initial_value {self.initial_value!r} is not an ISO 8601 timestamp")
        for name in ("step", "lag", "min_step"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                problems.append(f"{name} {value!r}: expected a finite number of seconds >= 0")
        if not problems and (self.step <= 0 or self.min_step <= 0 or self.min_step > self.step):
            problems.append("step and min_step must be > 0, min_step <= step")
        if self.max_rows is not None and (type(self.max_rows) is not int or self.max_rows < 1):
            problems.append(f"max_rows {self.max_rows!r}: expected a positive integer or None")
        if self.start_param == self.end_param:
            problems.append("start_param and end_param must differ")
        if problems:
            raise ValueError("windows: " + "; ".join(problems))

    @property
    def initial(self) -> dt.datetime:
        return parse_timestamp(self.initial_value, "initial_value")

    def plan(self, mark: dt.datetime | None, now: dt.datetime) -> list[Window]:
        """The windows from `mark` (or `initial_value`) to `now` less `lag` (to the second), `step` seconds each, the
        last shorter."""
        start = mark or self.initial
        until = (now - dt.timedelta(seconds=self.lag)).replace(microsecond=0)  # bounds are written to the second
        step = dt.timedelta(seconds=self.step)
        if until <= start:
            return []
        if (until - start) / step > MAX_WINDOWS:
            raise ValueError(f"windows: more than {MAX_WINDOWS} windows of {self.step:g} s from {start.isoformat()}")
        windows = []
        while start < until:
            end = min(start + step, until)
            windows.append(Window(start, end))
            start = end
        return windows

    def split(self, window: Window) -> tuple[Window, Window] | None:
        """Two halves of a capped window, or None when it is `min_step` long already."""
        length = (window.end - window.start).total_seconds()
        if length <= self.min_step:
            return None
        middle = window.start + dt.timedelta(seconds=max(self.min_step, math.floor(length / 2)))
        return Window(window.start, middle), Window(middle, window.end)

    def params(self, window: Window) -> dict[str, str]:
        return {self.start_param: self._written(window.start), self.end_param: self._written(window.end)}

    def _written(self, moment: dt.datetime) -> str:
        if self.format == "%s":
            return str((moment - EPOCH) // dt.timedelta(seconds=1))
        if self.format == "%ms":
            return str((moment - EPOCH) // dt.timedelta(milliseconds=1))
        return moment.strftime(self.format.replace("%Y", f"{moment.year:04d}"))


def advance(mark: str | None, done: Iterable[str]) -> str | None:
    """The end of the contiguous prefix of finished windows from `mark`: a lost window holds it at its start."""
    if mark is None:
        return None
    ends: dict[dt.datetime, dt.datetime] = {}
    for key in done:
        window = Window.from_key(key)
        if window is not None:
            ends[window.start] = window.end
    try:
        moment = dt.datetime.fromisoformat(mark)
    except ValueError:
        return mark
    while moment in ends:
        moment = ends.pop(moment)
    return moment.isoformat()
