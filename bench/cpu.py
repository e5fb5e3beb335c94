"""CPU accounting from /proc: who used the cores during a measured run."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _ticks(pid: int) -> int:
    """Return the CPU ticks (user + system) used so far by ``pid``."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12])


def _pids_named(name: str) -> list[int]:
    """Return the pids whose command name is ``name``."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/comm") as f:
                    if f.read().strip() == name:
                        pids.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return pids


def _group_pids(pgid: int) -> list[int]:
    """Return the pids in process group ``pgid``."""
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    pids.append(int(entry.name))
            except (ProcessLookupError, PermissionError):
                continue
    return pids


def _machine_busy() -> tuple[int, int]:
    """Return the machine's (busy, total) CPU ticks so far."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class CpuMeter:
    """Measure CPU used by named groups of processes (in cores) over a window."""

    def __init__(self, groups: Mapping[str, Iterable[int] | str | Callable[[], list[int]]]) -> None:
        """Watch ``groups``: pids, a command name, or a function returning pids."""
        self._groups = groups
        self._start: dict[str, dict[int, int]] = {}
        self._machine = (0, 0)
        self._t0 = 0.0

    def _snapshot(self) -> dict[str, dict[int, int]]:
        """Return the ticks of every process of every group."""
        snap: dict[str, dict[int, int]] = {}
        for label, who in self._groups.items():
            if isinstance(who, str):
                pids = _pids_named(who)
            elif callable(who):
                pids = who()
            else:
                pids = list(who)
            snap[label] = {pid: _ticks(pid) for pid in pids}
        return snap

    def begin(self) -> None:
        """Take the starting counters."""
        self._start = self._snapshot()
        self._machine = _machine_busy()
        self._t0 = time.monotonic()

    def end(self, extra: Mapping[str, int] | None = None) -> dict[str, float]:
        """Return cores used per group, ``machine`` busy cores and ``other`` since ``begin``."""
        wall = time.monotonic() - self._t0
        snap = self._snapshot()
        busy, total = _machine_busy()
        cores = {}
        for label, pids in snap.items():
            ticks = sum(t - self._start[label].get(pid, 0) for pid, t in pids.items())
            cores[label] = ticks / CLK_TCK / wall
        for label, ticks in (extra or {}).items():
            cores[label] = ticks / CLK_TCK / wall
        ncpu = os.cpu_count() or 1
        cores["machine"] = (busy - self._machine[0]) / max(total - self._machine[1], 1) * ncpu
        known = sum(v for k, v in cores.items() if k != "machine")
        cores["other"] = max(cores["machine"] - known, 0)
        return cores


def server_pids(proc: subprocess.Popen[bytes]) -> list[int]:
    """Return every pid in the server's process group (workers included)."""
    return _group_pids(proc.pid) or [proc.pid]


def child_ticks(before: os.times_result) -> int:
    """Return CPU ticks used by reaped children (wrk) since ``before``."""
    now = os.times()
    used = (now.children_user - before.children_user) + (
        now.children_system - before.children_system
    )
    return round(used * CLK_TCK)
