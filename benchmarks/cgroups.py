"""A production box for one benchmark process: a cgroup v1 child group of `memory` (a limit in bytes) and `cpu` (a
CFS quota), as a deployed Connector SDK connection gets (about 1 GB and half a vCPU).

    box = Box.create("bench-box-1", memory_bytes=1 << 30, cpus=0.5)   # or None where cgroups are not writable
    process = subprocess.Popen(box.wrap(command), ...)                # the command runs inside from its first line
    ...; usage = box.usage(); box.remove()

`wrap` puts a tiny `sh` in front of the command: it writes its own pid into both groups' `cgroup.procs`, then
`exec`s the command, so that every byte and every CPU second of the process (and of its children) is the box's.
The pure parts (the quota, the command, reading the counters' text) are separate from the file writes, for tests.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "cpu")
PERIOD_US = 100_000  # the CFS period: the quota is the CPU time allowed in each period


def quota_us(cpus: float, period_us: int = PERIOD_US) -> int:
    """The CFS quota for `cpus` CPUs (0.5: 50 ms of CPU time every 100 ms)."""
    if cpus <= 0:
        raise ValueError(f"cpus must be positive, not {cpus}")
    return max(1000, round(cpus * period_us))  # the kernel refuses a quota under 1 ms


def wrap_command(procs_files: Sequence[Path], command: Sequence[str]) -> list[str]:
    """`command`, run by a shell that first joins the groups (its pid into each `cgroup.procs`), then execs it."""
    joins = "; ".join(f"echo $$ > {shlex.quote(str(path))}" for path in procs_files)
    return ["sh", "-c", f'{joins} && exec "$@"', "box", *command]


def parse_keyed(text: str) -> dict[str, int]:
    """`memory.oom_control`, `memory.stat`, `cpu.stat`: one `key value` a line."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            values[parts[0]] = int(parts[1])
    return values


@dataclasses.dataclass(frozen=True)
class Usage:
    """What the box saw: the peak of its memory (RSS and page cache, as the limit counts it), how often the limit
    was hit, how many processes the kernel's OOM killer ended in it, and how much the CPU quota throttled it."""

    max_usage_bytes: int
    failcnt: int
    oom_kills: int
    throttled_periods: int
    throttled_seconds: float

    @classmethod
    def of(cls, files: Mapping[str, str]) -> Usage:
        """From the counters' text, by file name (missing files read as 0)."""
        oom = parse_keyed(files.get("memory.oom_control", ""))
        cpu = parse_keyed(files.get("cpu.stat", ""))
        return cls(
            max_usage_bytes=int(files.get("memory.max_usage_in_bytes", "0").strip() or 0),
            failcnt=int(files.get("memory.failcnt", "0").strip() or 0),
            oom_kills=oom.get("oom_kill", 0),
            throttled_periods=cpu.get("nr_throttled", 0),
            throttled_seconds=cpu.get("throttled_time", 0) / 1e9,
        )


@dataclasses.dataclass(frozen=True)
class Box:
    """Two child groups of the same name, one under `memory`, one under `cpu`."""

    name: str
    memory_bytes: int
    cpus: float
    root: Path = ROOT

    def group(self, controller: str) -> Path:
        return self.root / controller / self.name

    @staticmethod
    def unavailable(root: Path = ROOT) -> str | None:
        """Why a box cannot be made here (one line), or None when it can."""
        for controller in CONTROLLERS:
            folder = root / controller
            if not (folder / "cgroup.procs").exists():
                return f"no cgroup v1 {controller!r} controller at {folder}"
            if not os.access(folder, os.W_OK):
                return f"{folder} is not writable (the box needs root and cgroup v1 {controller!r})"
        return None

    @classmethod
    def create(cls, name: str, *, memory_bytes: int, cpus: float, root: Path = ROOT) -> Box:
        """Makes both groups and sets their limits (no swap here: the memory limit is the whole of it)."""
        box = cls(name, memory_bytes, cpus, root)
        for controller in CONTROLLERS:
            box.group(controller).mkdir(exist_ok=True)
        memory = box.group("memory")
        (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
        swap = memory / "memory.memsw.limit_in_bytes"
        if swap.exists():
            swap.write_text(str(memory_bytes))  # memory and swap together: swap cannot stretch the box
        cpu = box.group("cpu")
        (cpu / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (cpu / "cpu.cfs_quota_us").write_text(str(quota_us(cpus)))
        return box

    def wrap(self, command: Sequence[str]) -> list[str]:
        return wrap_command([self.group(c) / "cgroup.procs" for c in CONTROLLERS], command)

    def usage(self) -> Usage:
        files: dict[str, str] = {}
        for controller, names in (
            ("memory", ("memory.max_usage_in_bytes", "memory.failcnt", "memory.oom_control")),
            ("cpu", ("cpu.stat",)),
        ):
            for name in names:
                path = self.group(controller) / name
                if path.exists():
                    files[name] = path.read_text()
        return Usage.of(files)

    def remove(self) -> list[str]:
        """Removes both groups (their processes must have ended); returns what could not be removed."""
        problems = []
        for controller in CONTROLLERS:
            group = self.group(controller)
            try:
                if group.exists():
                    group.rmdir()
            except OSError as exc:
                problems.append(f"{group}: {exc}")
        return problems
