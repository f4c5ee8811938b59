"""The README's "Connecting your own API" example is code that runs: it builds a valid source."""

from pathlib import Path

from async_core.source import Source

README = Path(__file__).resolve().parents[2] / "README.md"


def worked_example() -> str:
    section = README.read_text(encoding="utf-8").split("## Connecting your own API", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_worked_example_builds_a_source_with_three_tables() -> None:
    """Executed as written, the example defines SOURCE with orders, customers and the child table addresses."""
    namespace: dict[str, object] = {}
    exec(compile(worked_example(), "README.md", "exec"), namespace)
    source = namespace["SOURCE"]
    assert isinstance(source, Source)
    assert source.table_names == ("orders", "customers", "addresses")
    assert source.table("addresses").primary_key == ("customer_id", "address_id")
    assert source.table("addresses").path_fields == {"customer_id"}
