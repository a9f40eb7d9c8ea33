"""Where a cold run's CPU goes, phase by phase, in one process (not a test).

    python bench/phases.py [--every N] [PATH]      (default: every 3rd file of bench/.corpus/src)

Times the screen's plan, CPython's check, libcst's parse, the facts collector and each rule, by
wrapping them; the rest is reading, the screen's bookkeeping and reporting.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", nargs="?", default=str(REPO / "bench" / ".corpus" / "src"))
    parser.add_argument("--every", type=int, default=3)
    args = parser.parse_args()

    import gc

    import libcst

    from initlint import engine, screen
    from initlint.config import Settings, all_codes
    from initlint.rules import ALL_RULES

    spent: collections.Counter = collections.Counter()

    def timed(owner, name, label):
        real = getattr(owner, name)

        def wrapper(*a, **k):
            start = time.perf_counter()
            try:
                return real(*a, **k)
            finally:
                spent[label] += time.perf_counter() - start

        setattr(owner, name, wrapper)

    timed(screen, "plan", "screen: plan")
    timed(engine, "_cpython_verdict", "CPython check (ast)")
    timed(libcst, "parse_module", "libcst parse")
    timed(engine, "_collect", "facts collector")
    for rule in ALL_RULES:
        real = rule.check

        def check(self, facts, real=real, code=rule.code):
            start = time.perf_counter()
            found = list(real(self, facts))
            spent[f"rule {code}"] += time.perf_counter() - start
            return found

        rule.check = check

    files = []
    for folder, dirs, names in os.walk(args.path):
        dirs.sort()
        files += [os.path.join(folder, n) for n in sorted(names) if n.endswith(".py")]
    files = files[:: args.every]
    sources = [(f, engine.read_source(f)) for f in files]
    settings = Settings(select=all_codes(), root=str(REPO), no_cache=True)
    gc.freeze()  # as the console script does (initlint.cli.run)
    gc.set_threshold(10_000, 20, 20)
    start = time.perf_counter()
    for path, source in sources:
        engine.lint_source(source, path, settings)
    total = time.perf_counter() - start
    print(f"{len(files)} files (every {args.every}th): {total:.2f} s of CPU in lint_source")
    for label, seconds in spent.most_common():
        print(f"  {label:24} {seconds:7.2f} s  {100 * seconds / total:5.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
