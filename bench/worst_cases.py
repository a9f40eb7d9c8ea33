"""Generated worst cases, timed at growing sizes: initlint on one file vs a plain libcst parse of it.

    python bench/worst_cases.py [--runs 3] [--case op_table] [--scale 1.0]

For every case of tests/worst_cases.py and four sizes (each twice the one before), prints the
file's size, initlint's time (the whole check of one file in this process: screen, parse,
analysis, every rule; no cache), the time of `libcst.parse_module` alone (the two alternately,
after one untimed run of each), the time per kB of each,
and initlint's ratio to the parse. Every pass must be linear: the time per kB stays flat (within
2x) across the sizes, and initlint stays within 2x of the parse. Medians of `--runs` runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from worst_cases import CASES  # noqa: E402  (tests/worst_cases.py: the generators the tests use too)

# The largest size of each case (the figures); the others are 1/2, 1/4 and 1/8 of it.
SIZES = {
    "op_table": 8_000,
    "init_calls": 20_000,
    "deep_model": 5_000,
    "nested_classes": 2_000,
    "small_functions": 50_000,
    "subclass_chain": 2_000,
    "module_flow": 20_000,
    "shared_names": 2_000,
    "subscript_lines": 20_000,
}


def _median_times(first, second, runs: int):
    """Median times of two functions, run alternately after one untimed run of each (so that
    neither pays alone for what warms up, nor for a noisy stretch of the machine)."""
    first(), second()
    times = ([], [])
    for _ in range(runs):
        for fn, out in zip((first, second), times):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--case", action="append", choices=sorted(CASES))
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size (0.1 for a quick look)")
    args = parser.parse_args()

    import libcst

    from initlint import engine
    from initlint.config import Settings, all_codes

    settings = Settings(select=all_codes(), no_cache=True, root=str(REPO))
    print(f"{'case':<16} {'n':>7} {'kB':>8} {'initlint s':>11} {'parse s':>9} {'initlint us/kB':>15} {'parse us/kB':>12} {'ratio':>6}")
    for name in args.case or sorted(CASES):
        largest = max(8, int(SIZES[name] * args.scale))
        per_kb = []
        for n in (largest // 8, largest // 4, largest // 2, largest):
            source = CASES[name](n)
            kb = len(source.encode()) / 1000
            ours, parse = _median_times(lambda: engine.lint_source(source, f"{name}.py", settings), lambda: libcst.parse_module(source), args.runs)
            per_kb.append(ours / kb)
            print(f"{name:<16} {n:>7} {kb:>8.0f} {ours:>11.3f} {parse:>9.3f} {ours / kb * 1e6:>15.0f} {parse / kb * 1e6:>12.0f} {ours / parse:>6.2f}", flush=True)
        print(f"{name:<16} time per kB, largest / smallest size: {per_kb[-1] / per_kb[0]:.2f}x", flush=True)


if __name__ == "__main__":
    main()
