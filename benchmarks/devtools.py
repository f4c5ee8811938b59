"""Third-party modules the benchmark imports by name, for the same reason as `tests/devtools.py`.

`fivetran debug` runs pipreqs over every .py file of the project. pipreqs maps the import `requests` to the
distribution name "Requests", fails to match it against the installed `requests` (its lookup is case-sensitive)
and asks PyPI: offline, that is three failed tries and 13 s of sleeps on every debug run. A static
`import requests` anywhere in the project costs that; importing it by name does not. (The SDK itself ignores
`requests` only after pipreqs has run.)
"""

import importlib
from typing import Any

requests: Any = importlib.import_module("requests")
