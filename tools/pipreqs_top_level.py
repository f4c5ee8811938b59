"""Writes the `top_level.txt` that some installed wheels lack, so that `fivetran debug` stays offline.

`fivetran debug` and `fivetran deploy` run pipreqs, which maps each import to an installed distribution by reading
the distributions' `top_level.txt`. Wheels built by newer backends (aiolimiter's, duckdb's) have none; pipreqs then
asks PyPI over the network (three tries, 13 s of sleeps, SEVERE lines when offline). This script derives the
file from the distribution's RECORD for the distributions named on the command line. It changes nothing but the
metadata folder of those distributions in the running interpreter's environment; `make` runs it after installing.

Usage: python tools/pipreqs_top_level.py aiolimiter duckdb
"""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path


def top_level_names(distribution: metadata.Distribution) -> list[str]:
    """Importable top-level names from the files the distribution installed."""
    names: set[str] = set()
    for file in distribution.files or ():
        first = file.parts[0]
        if first.endswith((".dist-info", ".egg-info", ".data")) or first in ("..", "__pycache__"):
            continue
        if len(file.parts) == 1:
            if first.endswith(".py"):
                names.add(first[:-3])
            elif first.endswith((".so", ".pyd")):
                names.add(first.split(".")[0])
        else:
            names.add(first)
    return sorted(names)


def ensure_top_level(name: str) -> str:
    distribution = metadata.distribution(name)
    info = Path(str(distribution.locate_file(""))) / next(
        str(file.parts[0]) for file in distribution.files or () if file.parts[0].endswith(".dist-info")
    )
    target = info / "top_level.txt"
    if target.exists():
        return f"{name}: top_level.txt already present"
    names = top_level_names(distribution)
    target.write_text("\n".join(names) + "\n", encoding="utf-8")
    return f"{name}: wrote top_level.txt ({', '.join(names)})"


def main(argv: list[str]) -> int:
    for name in argv:
        try:
            print(ensure_top_level(name))
        except metadata.PackageNotFoundError:
            print(f"{name}: not installed", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
