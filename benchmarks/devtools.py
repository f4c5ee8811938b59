"""Third-party modules the benchmark imports by name, for the same reason as `tests/devtools.py`.

`fivetran debug` runs pipreqs over every .py file of the project. pipreqs maps the import `requests` to the
distribution name "Requests", fails to match it against the installed `requests` (its lookup is case-sensitive)
and asks PyPI: offline, that is three failed tries and 13 s of sleeps on every debug run. A static
`import requests` anywhere in the project costs that; importing it by name does not. (The SDK itself ignores
`requests` only after pipreqs has run.) httpx (the same-library control) and werkzeug (the server of
fivetran-api-playground) are dev-only and their wheels carry no top_level.txt: a static import of either would
send pipreqs to the network as well. They are loaded on first use, so that a child process that does not need
them does not pay for importing them.
"""

import importlib
from types import ModuleType
from typing import Any

requests: Any = importlib.import_module("requests")
# h11 (the same-library control's parser) is dev-only: a static import would make pipreqs report it missing from
# requirements.txt.
h11: Any = importlib.import_module("h11")


def httpx() -> Any:
    """The httpx module (dev-only: the same-library control pair)."""
    return importlib.import_module("httpx")


def optional(name: str) -> ModuleType | None:
    """The module `name`, or None when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
