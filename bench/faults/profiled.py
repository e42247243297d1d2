"""`accountflow serve` with a memory profile: what the soak's server holds, minute by minute.

    SOAK_PROFILE=2,5 python -m bench.faults soak --minutes 5.5

runs the server through this module (bench/faults/common.py does when SOAK_PROFILE is set).
At each listed minute a thread writes to `$ACCOUNTFLOW_DATA_DIR/soak-profile.txt`: VmRSS
before and after `malloc_trim(0)` (what glibc gives back is free heap, not live objects),
the Python heap tracemalloc sees, the object counts by type that grew since the first mark,
and the tracemalloc tracebacks that grew most since the first mark. `SOAK_PROFILE_FRAMES`
(default 10) is tracemalloc's depth; 0 skips tracemalloc (object counts and RSS only).
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import TextIO

from app.__main__ import main as accountflow

TRIM = os.environ.get("SOAK_PROFILE_TRIM", "1") == "1"


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


MALLINFO2 = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()  # noqa: SIM905


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in MALLINFO2]


def malloc_figures() -> str:
    """glibc's view: bytes in use by malloc's callers, free in its heaps, mmapped chunks."""
    info = ctypes.CDLL("libc.so.6").mallinfo2
    info.restype = MallInfo2
    found = info()
    mib = {k: round(getattr(found, k) / 2**20, 1) for k in MALLINFO2}
    return (
        f"malloc MiB: heap {mib['arena']}, in use {mib['uordblks']},"
        f" free {mib['fordblks']}, mmapped {mib['hblkhd']}"
    )


def pymalloc_figures() -> str:
    """pymalloc's arenas (what Python objects of <= 512 bytes take), from sys._debugmallocstats."""
    read, write = os.pipe()
    saved = os.dup(2)
    os.dup2(write, 2)
    try:
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(write)
        os.close(saved)
    with os.fdopen(read) as stats:
        lines = stats.read().splitlines()
    keep = ("# arenas allocated current", "# bytes in allocated blocks")
    return "pymalloc: " + "; ".join(" ".join(x.split()) for x in lines if x.startswith(keep))


def type_counts() -> Counter[str]:
    return Counter(type(o).__qualname__ for o in gc.get_objects())


class Profile:
    def __init__(self, marks: list[float], out: TextIO) -> None:
        self.marks, self.out, self.started = marks, out, time.monotonic()
        self.first: tuple[tracemalloc.Snapshot | None, Counter[str]] | None = None

    def run(self) -> None:
        for mark in self.marks:
            time.sleep(max(0.0, self.started + mark * 60 - time.monotonic()))
            self.take(mark)

    def take(self, mark: float) -> None:
        gc.collect()  # what is still reachable, not cycles waiting for the collector
        before = rss_kib()
        trimmed = ctypes.CDLL("libc.so.6").malloc_trim(0) if TRIM else 0
        after = rss_kib()
        traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
        snapshot = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None
        counts = type_counts()
        self.write(
            f"\n=== minute {mark}: VmRSS {before // 1024} MiB, after malloc_trim {after // 1024}"
            f" MiB (released: {trimmed}), tracemalloc {traced / 2**20:.1f} MiB,"
            f" gc objects {sum(counts.values())}"
        )
        self.write(malloc_figures())
        self.write(pymalloc_figures())
        if self.first is None:
            self.first = (snapshot, counts)
            self.write("top types: " + repr(counts.most_common(25)))
            return
        grown = Counter({k: v - self.first[1][k] for k, v in counts.items()})
        self.write("types grown since the first mark: " + repr(grown.most_common(25)))
        if snapshot is not None and self.first[0] is not None:
            self.diff(snapshot, self.first[0])

    def diff(self, snapshot: tracemalloc.Snapshot, first: tracemalloc.Snapshot) -> None:
        ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
        now, then = snapshot.filter_traces(ignore), first.filter_traces(ignore)
        for stat in now.compare_to(then, "traceback")[:15]:
            self.write(f"--- {stat.size_diff / 1024:+.0f} KiB, {stat.count_diff:+d} blocks")
            self.write("\n".join(stat.traceback.format(limit=8)))
        for stat in now.compare_to(then, "lineno")[:25]:
            self.write(f"line {stat}")

    def write(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


def main() -> None:
    marks = [float(m) for m in os.environ["SOAK_PROFILE"].split(",")]
    frames = int(os.environ.get("SOAK_PROFILE_FRAMES", "10"))
    if frames:
        tracemalloc.start(frames)
    folder = Path(os.environ.get("ACCOUNTFLOW_DATA_DIR", "."))
    out = (folder / "soak-profile.txt").open("a")
    out.write(f"\n##### pid {os.getpid()} marks {marks} frames {frames}\n")
    threading.Thread(target=Profile(marks, out).run, daemon=True).start()
    accountflow(sys.argv[1:])


if __name__ == "__main__":
    main()
