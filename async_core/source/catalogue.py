"""The source catalogue: the configuration key `source` names a module of the `sources` package.

`sources/<name>.py` defines `SOURCE`, a `Source`. Adding an API is adding such a module: nothing in `async_core`
changes. The module is imported when a sync (or `schema()`) first needs it.
"""

from __future__ import annotations

import importlib
import re

from async_core.errors import ConfigurationError
from async_core.source.spec import Source

DEFAULT_SOURCE = "jsonplaceholder"
PACKAGE = "sources"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def load_source(name: str = DEFAULT_SOURCE) -> Source:
    """The `SOURCE` of `sources/<name>.py`. Raises `ConfigurationError` (key `source`) naming what is wrong."""
    if not _NAME.match(name):
        raise ConfigurationError("source", name, "expected the name of a module in sources/ (lowercase, snake_case)")
    try:
        module = importlib.import_module(f"{PACKAGE}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name not in (f"{PACKAGE}.{name}", PACKAGE):
            raise  # the module exists but imports something missing: its own error says what
        raise ConfigurationError("source", name, f"no module sources/{name}.py; known: {', '.join(known())}") from None
    source = getattr(module, "SOURCE", None)
    if not isinstance(source, Source):
        raise ConfigurationError("source", name, f"sources/{name}.py must define SOURCE = Source(...)")
    return source


def known() -> list[str]:
    """The modules of the `sources` package (for messages and the setup form)."""
    import pkgutil

    package = importlib.import_module(PACKAGE)
    return sorted(info.name for info in pkgutil.iter_modules(package.__path__) if not info.name.startswith("_"))
