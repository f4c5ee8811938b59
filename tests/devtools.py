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
