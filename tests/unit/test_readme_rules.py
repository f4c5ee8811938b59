"""The README's "Custom error handling" examples are code that runs, and decide what the README says they do."""

from pathlib import Path
from typing import Any

from async_core.source import RecordAction, ResponseAction, ResponseRule, Rules

README = Path(__file__).resolve().parents[2] / "README.md"


def examples() -> dict[str, Any]:
    section = README.read_text(encoding="utf-8").split("## Custom error handling", 1)[1].split("\n## ", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(section.split("```python\n", 1)[1].split("```", 1)[0], "README.md", "exec"), namespace)
    return namespace


def test_the_examples_decide_as_documented() -> None:
    """Busy envelopes retry after 5 s, other envelopes lose the page, the deleted customer's 404 is skipped, a
    duplicate is skipped and another business error rejected; a page and a plain record are left alone."""
    ex = examples()
    rules = Rules(
        responses=(ex["CUSTOMER_GONE"], ex["BUSY"], ex["ENVELOPE"]),
        records=(ex["DUPLICATE"], ex["BUSINESS_ERROR"]),
    )

    def action(status: int, body: Any) -> tuple[str, ResponseAction] | None:
        rule: ResponseRule | None = rules.response(status, body)
        return None if rule is None else (rule.name, rule.action)

    assert action(200, {"error": {"code": "RATE_LIMITED"}}) == ("busy envelope", ResponseAction.RETRY)
    assert ex["BUSY"].wait == 5
    assert action(200, {"error": "internal"}) == ("error envelope", ResponseAction.LOSE)
    assert action(200, {"result": {"orders": []}}) is None
    assert action(200, [{"id": 1}]) is None
    assert action(404, {"error": {"code": "CUSTOMER_NOT_FOUND"}}) == ("customer deleted", ResponseAction.SKIP)
    assert action(404, None) is None  # an HTML 404: today's HIGH
    duplicate = rules.record({"id": 7, "status": "DUPLICATE_RECORD"})
    rejected = rules.record({"id": 8, "status": "ERROR"})
    assert duplicate is not None
    assert (duplicate.name, duplicate.action) == ("duplicate", RecordAction.SKIP)
    assert rejected is not None
    assert (rejected.name, rejected.action) == ("business error", RecordAction.REJECT)
    assert rules.record({"id": 9, "status": "OK"}) is None
