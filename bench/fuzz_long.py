"""The long fuzz mode (outside CI): tens of thousands of inputs through the static path and the fixer.

    python bench/fuzz_long.py                      # 6,000 generated + 6,000 mutated + 1,000 fixer variants
    python bench/fuzz_long.py --kind gen -n 20000  # one kind, more inputs
    python bench/fuzz_long.py --seed 7             # other inputs (default: a fresh random seed)

Unlike the pytest suite (tests/test_fuzz_*.py, `INITLINT_FUZZ_LONG=1` scales them up), it does not
stop at the first failure: it counts, times and prints every failing input (shrunk by nobody) and
saves them under $TMPDIR/initlint-fuzz-failures/ to be turned into regression tests. Exit 1 if any failed.
"""

from __future__ import annotations

import argparse
import ast
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

from hypothesis import HealthCheck, Phase, given, seed as hseed, settings as hsettings  # noqa: E402

from conftest import settings  # noqa: E402
from fuzz.check import check_all  # noqa: E402
from fuzz.gen import mutated, pytorch_source, seed_files  # noqa: E402

FAILURES = Path(tempfile.gettempdir()) / "initlint-fuzz-failures"


def _run(kind: str, count: int, seed: int) -> dict:
    stats = {"kind": kind, "inputs": 0, "failures": 0, "skipped": 0}
    seeds = [p.read_bytes() for p in seed_files()]
    if kind == "gen":
        strategy = pytorch_source().map(lambda s: s.encode("utf-8"))
    elif kind == "mut":
        strategy = mutated(seeds)
    else:
        import test_fuzz_fix

        strategy = test_fuzz_fix.variant().map(lambda s: s.encode("utf-8"))

    def one(data: bytes) -> None:
        try:
            if kind == "fix":
                text = data.decode("utf-8")
                try:
                    ast.parse(text)
                except SyntaxError:
                    stats["skipped"] += 1
                    return
                test_fuzz_fix.check_fix(text)
            else:
                check_all(data, f"{kind}.py", settings())
        except Exception:  # noqa: BLE001 - every failure is recorded, the run goes on
            stats["failures"] += 1
            FAILURES.mkdir(parents=True, exist_ok=True)
            name = FAILURES / f"{kind}-{seed}-{stats['inputs']}"
            name.with_suffix(".py").write_bytes(data)
            name.with_suffix(".txt").write_text(traceback.format_exc())
            print(f"FAIL {name}.py: {traceback.format_exc().strip().splitlines()[-1][:200]}", flush=True)
        finally:
            stats["inputs"] += 1

    # Generate only: a failure is recorded (not shrunk) and the run goes on.
    test = hsettings(max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck), phases=[Phase.generate])(
        given(strategy)(one)
    )
    started = time.monotonic()
    hseed(seed)(test)()
    stats["seconds"] = round(time.monotonic() - started, 1)
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=["gen", "mut", "fix", "all"], default="all")
    parser.add_argument("-n", type=int, default=None, help="inputs per kind (default: 6000 gen, 6000 mut, 1000 fix)")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    kinds = ["gen", "mut", "fix"] if args.kind == "all" else [args.kind]
    default = {"gen": 6000, "mut": 6000, "fix": 1000}
    total = {"inputs": 0, "failures": 0, "seconds": 0.0}
    for kind in kinds:
        stats = _run(kind, args.n or default[kind], seed)
        print(f"{kind}: {stats['inputs']} inputs ({stats['skipped']} skipped), {stats['failures']} failures, {stats['seconds']} s (seed {seed})", flush=True)
        for key in total:
            total[key] += stats[key]
    print(f"total: {total['inputs']} inputs, {total['failures']} failures, {round(total['seconds'], 1)} s")
    return 1 if total["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
