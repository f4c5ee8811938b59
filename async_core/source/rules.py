"""A source's own error rules: what a response or a record means for this API, declared beside the tables.

    ResponseRule(name, status, action, when=None, wait=None)
        status   a status or a set of them; `when`, if given, a predicate of the decoded body (an error envelope
                 on a 200; for another status the body is its JSON document, or None when it is not JSON)
        action   RETRY       retried like a 503: after `wait` seconds if given, else after the server's wait
                             hint (Retry-After, RateLimit headers) if it sent one, never sooner than the backoff
                 SKIP        the page is expected to be empty (a child of a parent just deleted): LOW; it counts
                             as written with no rows, so the pass can complete
                 LOSE        the page is lost for this sync, like any other 4xx: HIGH
                 STOP_TABLE  the page is lost and the table stops: HIGH
                 STOP_SYNC   the sync stops: CRITICAL
    RecordRule(name, when, action)
        when     a predicate of the raw record, before it is transformed
        action   KEEP    transformed and validated as usual (a table's KEEP exempts a record from the source's rules)
                 SKIP    not written; LOW, counted, not an error against the thresholds (a duplicate)
                 REJECT  not written; MEDIUM, to `sync_errors` with the raw record
                 STOP    the sync stops: CRITICAL

A table's rules are tried before its source's; the first rule that matches decides, and without one a response
or a record is classified as it always was. The severities and the thresholds are the ledger's
(`async_core.run.ledger`); here only the matching. Rules run on the event loop, once per response or record:
plain functions, no I/O, nothing that blocks. A rule that raises is a bug in the source: `RuleBug`, CRITICAL,
with its traceback; never a silent skip.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from collections.abc import Callable, Collection
from typing import Any

from async_core.errors import FatalError, RetryableError, RuleBug, RuleStop

# Redirects are followed before any rule sees a response; 200 is always read by the rules that name it.
_UNJUDGEABLE = frozenset({301, 302, 303, 307, 308})


class ResponseAction(enum.StrEnum):
    """What a response rule decides (see the module docstring)."""

    RETRY = "retry"
    SKIP = "skip"
    LOSE = "lose"
    STOP_TABLE = "stop_table"
    STOP_SYNC = "stop_sync"


class RecordAction(enum.StrEnum):
    """What a record rule decides (see the module docstring)."""

    KEEP = "keep"
    SKIP = "skip"
    REJECT = "reject"
    STOP = "stop"


@dataclasses.dataclass(frozen=True)
class ResponseRule:
    """A response with one of `status` (and, with `when`, a body for which `when` is true) means `action`."""

    name: str
    status: int | Collection[int]
    action: ResponseAction
    when: Callable[[Any], bool] | None = None
    wait: float | None = None  # RETRY only: seconds before the retry (still capped by `max_wait_seconds`)

    def __post_init__(self) -> None:
        statuses = frozenset((self.status,) if isinstance(self.status, int) else self.status)
        object.__setattr__(self, "status", statuses)
        object.__setattr__(self, "action", ResponseAction(self.action))
        problems = [] if self.name.strip() else ["a rule needs a name"]
        problems += [f"status {s!r} is not an HTTP status" for s in statuses if not _is_status(s)]
        problems += [f"redirect {s} is followed, never judged" for s in sorted(statuses & _UNJUDGEABLE)]
        problems += [] if statuses else ["no status given"]
        if self.wait is not None and self.action is not ResponseAction.RETRY:
            problems.append("`wait` goes with RETRY only")
        if self.wait is not None and not 0 <= self.wait < float("inf"):
            problems.append(f"`wait` must be a number of seconds >= 0, got {self.wait!r}")
        if problems:
            raise ValueError(f"response rule {self.name!r}: " + "; ".join(problems))

    @property
    def statuses(self) -> frozenset[int]:
        statuses: frozenset[int] = self.status  # type: ignore[assignment]  # normalised in __post_init__
        return statuses

    def matches(self, status: int, body: Any) -> bool:
        """Whether this rule decides for a response. Raises `RuleBug` if `when` raises."""
        if status not in self.statuses:
            return False
        return self.when is None or _holds(self.name, self.when, body)

    def enforce(self, status: int, *, hint: float | None = None) -> None:
        """Raises what the action means for the page (RETRY, LOSE, STOP_*); returns for SKIP. `hint` is the
        server's wait hint, for a RETRY without a `wait` of its own."""
        what = f"HTTP {status}: rule {self.name!r}"
        if self.action is ResponseAction.RETRY:
            wait = self.wait if self.wait is not None else hint
            raise RetryableError(f"{what} retries", status=status, wait_hint=wait, rule=self.name)
        if self.action is ResponseAction.LOSE:
            raise FatalError(f"{what} loses the page", status=status, rule=self.name)
        if self.action is ResponseAction.STOP_TABLE:
            raise RuleStop(f"{what} stops the table", sync=False, rule=self.name, status=status)
        if self.action is ResponseAction.STOP_SYNC:
            raise RuleStop(f"{what} stops the sync", sync=True, rule=self.name, status=status)


@dataclasses.dataclass(frozen=True)
class RecordRule:
    """A raw record for which `when` is true means `action`."""

    name: str
    when: Callable[[Any], bool]
    action: RecordAction

    def __post_init__(self) -> None:
        object.__setattr__(self, "action", RecordAction(self.action))
        if not self.name.strip():
            raise ValueError("a record rule needs a name")

    def matches(self, record: Any) -> bool:
        """Whether this rule decides for `record`. Raises `RuleBug` if `when` raises."""
        return _holds(self.name, self.when, record)


@dataclasses.dataclass(frozen=True)
class Rules:
    """One table's rules in the order they are tried: the table's, then its source's."""

    responses: tuple[ResponseRule, ...] = ()
    records: tuple[RecordRule, ...] = ()

    @functools.cached_property
    def statuses(self) -> frozenset[int]:
        """The statuses other than 200 that the rules read: the client hands these over instead of judging them."""
        return frozenset().union(*(rule.statuses for rule in self.responses)) - {200}

    def response(self, status: int, body: Any) -> ResponseRule | None:
        """The first response rule that matches, or None (the response is classified as always)."""
        for rule in self.responses:
            if rule.matches(status, body):
                return rule
        return None

    def record(self, record: Any) -> RecordRule | None:
        """The first record rule that matches, or None (the record is transformed as always)."""
        for rule in self.records:
            if rule.matches(record):
                return rule
        return None


def _holds(name: str, predicate: Callable[[Any], bool], value: Any) -> bool:
    try:
        return bool(predicate(value))
    except Exception as exc:  # a bug in the source's rule: CRITICAL, never a silent skip
        raise RuleBug(name, exc) from exc


def _is_status(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599
