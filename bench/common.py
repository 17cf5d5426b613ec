"""Shared by every bench script: timing helpers and one JSON file of figures per script.

Each script calls `record("name", rows)`, which writes bench/results/<name>.json; `make bench`
(bench/run_all.py) runs every script and rewrites bench/results.md from those files. Figures are
medians with min and max over repeats, because the machines are shared and noisy.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def time_repeats(fn, repeats: int = 5, warmup: int = 1) -> list[float]:
    """Seconds per call of fn(), `repeats` times after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def summary(values: list[float]) -> dict:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def row(figure: str, values: list[float], unit: str, **extra) -> dict:
    """One figure: values are per-repeat measurements already in `unit` (e.g. frames/s)."""
    return {"figure": figure, "unit": unit, **summary(values), **extra}


def machine() -> dict:
    import os

    # the interpreter's build matters as much as its version (see the Makefile's PY)
    return {
        "python": sys.version.split()[0],
        "python_home": sys.base_prefix,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def record(name: str, rows: list[dict], command: str, notes: str = "") -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    data = {
        "name": name,
        "command": command,
        "machine": machine(),
        "rows": rows,
        "notes": notes,
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    path.write_text(json.dumps(data, indent=2))
    for r in rows:
        print(
            f"{r['figure']:<60} {r['median']:>10.3f} {r['unit']:<10} "
            f"(min {r['min']:.3f}, max {r['max']:.3f})"
        )
    return path


def merge_rows(name: str, rows: list[dict], command: str, run_of, ran: set) -> tuple[list, str]:
    """Rows of the earlier `name` record whose run (`run_of(row)`, None for rows of no run) is not
    in `ran` (the runs made now), then the new rows; the two commands joined by "; then ". So a
    script whose runs take hours can add or redo one run and keep the others."""
    path = RESULTS_DIR / f"{name}.json"
    if not path.exists():
        return rows, command
    old = json.loads(path.read_text())
    kept = [r for r in old["rows"] if run_of(r) is not None and run_of(r) not in ran]
    if not kept:
        return rows, command
    return kept + rows, f"{old['command']}; then {command}"
