"""A source's error rules, as pure functions: which rule matches, in what order, and what its action raises."""

from __future__ import annotations

from typing import Any

from async_core.errors import FatalError, RetryableError, RuleBug, RuleStop, Severity
from async_core.run.ledger import page_skipped, record_for, record_ruled
from async_core.source import (
    Column,
    RecordAction,
    RecordRule,
    ResponseAction,
    ResponseRule,
    Rules,
    Source,
    TableSpec,
)
from tests.devtools import pytest


def envelope(body: Any) -> bool:
    return isinstance(body, dict) and "error" in body


ENVELOPE = ResponseRule("error envelope", 200, ResponseAction.RETRY, when=envelope, wait=2)
GONE = ResponseRule("parent deleted", {404, 410}, ResponseAction.SKIP)
DUPLICATE = RecordRule("duplicate", lambda r: r.get("status") == "DUPLICATE_RECORD", RecordAction.SKIP)
CORRUPT = RecordRule("corrupt", lambda r: r.get("status") == "CORRUPT", RecordAction.REJECT)


def test_a_status_rule_matches_its_statuses_only() -> None:
    """A rule for {404, 410} matches a 404 and a 410, whatever the body, and nothing else."""
    assert GONE.matches(404, None)
    assert GONE.matches(410, {"detail": "gone"})
    assert not GONE.matches(400, None)
    assert not GONE.matches(200, [])


def test_a_body_predicate_narrows_a_status_rule() -> None:
    """The envelope rule matches a 200 with an `error` key, not a 200 page."""
    assert ENVELOPE.matches(200, {"error": "busy"})
    assert not ENVELOPE.matches(200, {"data": []})
    assert not ENVELOPE.matches(503, {"error": "busy"})


def test_the_first_matching_rule_decides() -> None:
    """Rules are tried in order: a table's before its source's."""
    keep_ok = RecordRule("keep flagged ok", lambda r: r.get("ok") is True, RecordAction.KEEP)
    table = TableSpec("t", "/t", (Column("id", "id", "INT"),), record_rules=(keep_ok,))
    source = Source("s", (table,), record_rules=(RecordRule("all", lambda r: True, RecordAction.REJECT),))
    rules = source.rules_for(table)
    assert [rule.name for rule in rules.records] == ["keep flagged ok", "all"]
    assert rules.record({"ok": True}) is keep_ok
    fallback = rules.record({"ok": False})
    assert fallback is not None
    assert fallback.name == "all"


def test_no_rule_matching_means_no_decision() -> None:
    """Without a match (or without rules) a response and a record are left to today's classification."""
    assert Rules().response(404, None) is None
    assert Rules().record({"id": 1}) is None
    assert Rules(responses=(GONE,)).response(500, None) is None
    assert Rules(records=(DUPLICATE,)).record({"id": 1}) is None


def test_the_statuses_the_client_hands_over_are_the_rules_but_200() -> None:
    """200 is always read; the others named by a rule are handed over instead of being classified."""
    rules = Rules(responses=(ENVELOPE, GONE, ResponseRule("busy", 503, ResponseAction.LOSE)))
    assert rules.statuses == frozenset({404, 410, 503})
    assert Rules().statuses == frozenset()


@pytest.mark.parametrize(
    ("action", "raised", "severity"),
    [
        (ResponseAction.RETRY, RetryableError, Severity.HIGH),  # HIGH once its retries are spent
        (ResponseAction.LOSE, FatalError, Severity.HIGH),
        (ResponseAction.STOP_TABLE, RuleStop, Severity.HIGH),
        (ResponseAction.STOP_SYNC, RuleStop, Severity.CRITICAL),
    ],
)
def test_each_response_action_raises_what_it_means(action: ResponseAction, raised: type, severity: Severity) -> None:
    """RETRY, LOSE, STOP_TABLE, STOP_SYNC raise; the ledger's record names the rule and its severity."""
    rule = ResponseRule("r", 418, action)
    with pytest.raises(raised) as caught:
        rule.enforce(418)
    record = record_for(caught.value, table="t", page=3)
    assert (record.severity, record.rule, record.traceback) == (severity, "r", None)


def test_a_retry_rule_carries_its_wait() -> None:
    """RETRY with `wait` is a retryable error with that wait hint (the client honours it like a Retry-After)."""
    with pytest.raises(RetryableError) as caught:
        ENVELOPE.enforce(200)
    assert caught.value.wait_hint == 2
    assert caught.value.status == 200


def test_a_retry_rule_without_a_wait_takes_the_servers_hint() -> None:
    """RETRY without `wait`: the server's wait hint, if it sent one (else the client's backoff alone)."""
    rule = ResponseRule("busy", 503, ResponseAction.RETRY)
    for hint in (3.0, None):
        with pytest.raises(RetryableError) as caught:
            rule.enforce(503, hint=hint)
        assert caught.value.wait_hint == hint
    with pytest.raises(RetryableError) as own:
        ENVELOPE.enforce(200, hint=30.0)
    assert own.value.wait_hint == 2  # the rule's own wait wins


def test_skip_raises_nothing_and_is_low() -> None:
    """SKIP returns: the page is written empty, and recorded LOW with the rule's name."""
    GONE.enforce(404)
    record = page_skipped(rule="parent deleted", table="departments", page=1, status=404)
    assert (record.severity, record.rule, record.error_type) == (Severity.LOW, "parent deleted", "PageSkipped")


@pytest.mark.parametrize(
    ("action", "severity", "error_type"),
    [
        (RecordAction.SKIP, Severity.LOW, "RecordSkipped"),
        (RecordAction.REJECT, Severity.MEDIUM, "RecordRejected"),
        (RecordAction.STOP, Severity.CRITICAL, "RecordStopped"),
    ],
)
def test_record_actions_have_their_severities(action: RecordAction, severity: Severity, error_type: str) -> None:
    """SKIP is LOW (not an error against the thresholds), REJECT MEDIUM, STOP CRITICAL; the raw record is kept."""
    raw = {"id": 7, "status": "x"}
    record = record_ruled(action, rule="r", table="t", page=2, record_id="7", raw_record=raw)
    assert (record.severity, record.error_type, record.rule, record.raw_record) == (severity, error_type, "r", raw)


def test_a_rule_that_raises_is_a_bug_with_its_traceback() -> None:
    """A predicate that raises gives `RuleBug`: CRITICAL, one line naming the rule, the traceback kept."""
    broken = RecordRule("broken", lambda r: r["missing"], RecordAction.SKIP)
    with pytest.raises(RuleBug) as caught:
        Rules(records=(broken,)).record({"id": 1})
    record = record_for(caught.value, table="t", page=1)
    assert record.severity is Severity.CRITICAL
    assert record.rule == "broken"
    assert record.message == "error rule 'broken' raised KeyError: 'missing'"
    assert record.traceback is not None
    assert "KeyError" in record.traceback
    assert "lambda" in record.traceback


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"name": "", "status": 404, "action": ResponseAction.SKIP}, "needs a name"),
        ({"name": "r", "status": 1000, "action": ResponseAction.SKIP}, "not an HTTP status"),
        ({"name": "r", "status": 302, "action": ResponseAction.SKIP}, "is followed, never judged"),
        ({"name": "r", "status": (), "action": ResponseAction.SKIP}, "no status given"),
        ({"name": "r", "status": 404, "action": ResponseAction.SKIP, "wait": 1}, "`wait` goes with RETRY only"),
        ({"name": "r", "status": 503, "action": ResponseAction.RETRY, "wait": -1}, "must be a number of seconds"),
    ],
)
def test_a_response_rule_that_cannot_work_is_refused_when_declared(kwargs: dict[str, Any], problem: str) -> None:
    """Mistakes show when the source is imported, not during a sync."""
    with pytest.raises(ValueError, match=problem):
        ResponseRule(**kwargs)


def test_actions_may_be_given_as_strings() -> None:
    """ "skip" is ResponseAction.SKIP; a status set given as a list is a frozenset."""
    rule = ResponseRule("r", [404, 410], "skip")  # type: ignore[arg-type]
    assert rule.action is ResponseAction.SKIP
    assert rule.statuses == frozenset({404, 410})
    assert RecordRule("d", bool, "reject").action is RecordAction.REJECT  # type: ignore[arg-type]
