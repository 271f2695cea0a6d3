"""What the stages that use worker processes (reading a big manuscript, laying out the PDF)
need to know about the machine."""

from __future__ import annotations

import os


def usable_cpus() -> int:
    """The number of CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
