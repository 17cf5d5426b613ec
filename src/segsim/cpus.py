"""How many cores this process may use: the one place that works it out."""

from __future__ import annotations

import os


def available_cpus() -> int:
    """Cores this process may run on (its affinity mask, so a container's or taskset's limit
    counts), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
