"""`make bench`: run every bench/bench_*.py in turn, then rewrite bench/results.md.

Each script records its own figures in bench/results/<name>.json (see bench/common.py); this
file only runs them and turns those files into one Markdown report with the machine, the
command behind each table and medians with min and max. `--only NAME` runs a subset;
`--report-only` just rebuilds results.md from the JSON files already there. The hand-written
bench/diary.md (why figures moved, what was tried) is appended as it is.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from bench.common import RESULTS_DIR, machine  # noqa: E402

# Cheap, independent figures first; then the recipe (minutes), whose model crossdomain scores.
ORDER = [
    "render",
    "generate",
    "encode",
    "objects",
    "models",
    "infer",
    "serve",
    "recipe",
    "crossdomain",
]


def scripts() -> list[Path]:
    found = {p.stem.removeprefix("bench_"): p for p in HERE.glob("bench_*.py")}
    ordered = [found.pop(n) for n in ORDER if n in found]
    return ordered + sorted(found.values())


def fmt(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def report() -> str:
    m = machine()
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (bench/run_all.py). Figures are medians over repeats, "
        "with min and max;",
        "the machines are shared and noisy, so compare ratios taken in the same run "
        "rather than absolute numbers.",
        "",
        f"Machine: {m['platform']}, {m['cpus']} CPUs, "
        f"Python {m['python']} ({m.get('python_home', '?')}).",
        "",
    ]
    for path in sorted(
        RESULTS_DIR.glob("*.json"),
        key=lambda p: (ORDER + [p.stem]).index(p.stem) if p.stem in ORDER else len(ORDER),
    ):
        data = json.loads(path.read_text())
        lines += [f"## {data['name']}", "", f"Command: `{data['command']}` ({data['when']})", ""]
        py = data.get("machine", {})
        if (py.get("python"), py.get("python_home")) != (m["python"], m.get("python_home")):
            # recorded by another interpreter than the header's (figures move with its build)
            lines += [
                f"Recorded with Python {py.get('python', '?')} ({py.get('python_home', '?')}).",
                "",
            ]
        if data.get("notes"):
            lines += [data["notes"], ""]
        lines += ["| figure | median | min | max | unit | n |", "|---|---:|---:|---:|---|---:|"]
        for r in data["rows"]:
            lines.append(
                f"| {r['figure']} | {fmt(r['median'])} | {fmt(r['min'])} | {fmt(r['max'])} "
                f"| {r['unit']} | {r['n']} |"
            )
        lines.append("")
    diary = HERE / "diary.md"  # the hand-written notes: why figures moved, what was tried
    if diary.is_file():
        lines += [diary.read_text().rstrip(), ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", nargs="*", help="bench names to run (e.g. render generate)")
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    failed = []
    if not args.report_only:
        for script in scripts():
            name = script.stem.removeprefix("bench_")
            if args.only and name not in args.only:
                continue
            print(f"\n=== {name}: {script.relative_to(ROOT)} ===", flush=True)
            t0 = time.time()
            rc = subprocess.call([sys.executable, str(script)], cwd=ROOT)
            print(f"=== {name}: exit {rc} in {time.time() - t0:.0f} s ===", flush=True)
            if rc != 0:
                failed.append(name)
    (HERE / "results.md").write_text(report())
    print(f"\nwrote {HERE / 'results.md'}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
