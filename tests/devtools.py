"""Dev-only third-party modules for the tests, imported by name.

`fivetran debug` and `fivetran deploy` run pipreqs over every .py file of the project and compare the imports with
requirements.txt, which lists only what production needs. A static `import pytest` would be reported as a missing
runtime dependency, and a static `import duckdb` (its wheel has no top_level.txt) sends pipreqs to the network.
Importing them by name keeps that check clean; tests write `from tests.devtools import pytest`.
"""

import importlib
from types import ModuleType

pytest: ModuleType = importlib.import_module("pytest")
duckdb: ModuleType = importlib.import_module("duckdb")
hypothesis: ModuleType = importlib.import_module("hypothesis")  # its wheel has no top_level.txt either
strategies: ModuleType = importlib.import_module("hypothesis.strategies")


def api_playground() -> ModuleType:
    """`fivetran_api_playground`, Fivetran's mock API: imported on first use, since the import takes about 1.5 s
    (Faker generates its 200 items) and makes new credentials. It opens no connection; only its CLI checks PyPI."""
    return importlib.import_module("fivetran_api_playground")


def api_playground_rate_limiter() -> ModuleType:
    """`fivetran_api_playground.rate_limiter`, which holds the token bucket as a module global."""
    return importlib.import_module("fivetran_api_playground.rate_limiter")


def werkzeug_serving() -> ModuleType:
    """`werkzeug.serving` (comes with flask, which the playground needs), for `make_server`."""
    return importlib.import_module("werkzeug.serving")


def module(name: str) -> ModuleType:
    """A dev-only module by name: the test servers' authlib and flask (tests/oauth2_server.py), strawberry and
    graphql (tests/graphql_server.py)."""
    return importlib.import_module(name)
