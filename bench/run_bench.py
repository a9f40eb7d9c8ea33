"""initlint's speed, side by side with ruff and with a plain libcst parse, on real PyTorch code.

    python bench/run_bench.py [--runs 5] [--skip-floor] [--floor-jobs N] [--shared ../shared/bench]
                              [--baseline PATH] [--skip-cold]

Builds the benchmark corpus first when it is missing (`make_corpus.sh` from the shared bench
folder: pinned PyPI wheels, ~40 MB of downloads; `--corpus-only` stops there). Then, alternating
the commands of each comparison run after run, it measures whole processes (wall time, user+sys
CPU time of the process and the workers it waited for, and peak RSS, as GNU time's %M reports it)
and prints medians and ratios:

    initlint cold (--no-cache)             vs  ruff check --no-cache --select F401
    initlint cold, --jobs 1 vs --jobs 2    (the parallel speed-up)
    initlint warm (cache full, no change)  vs  ruff check --no-cache --select F401
    parse_floor.py --parser libcst         (a libcst parse of every file; ~210 s serially)
    one small file with a finding          vs  python -c 'import libcst; libcst.parse_module(...)'
    a file with nothing to check           vs  python -c pass

With `--baseline PATH` (another build's `initlint` executable, e.g. a worktree of the previous
release with its own venv), every initlint measurement alternates with the same command of the
baseline, and the table adds its rows and the ratio of this build to it: before and after,
measured side by side in one run.

`--skip-cold` leaves out the cold corpus runs (a few minutes instead of ten or more).

Absolute seconds drift between machines and runs: compare the ratios, measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
SMALL_FILE = REPO / "fixtures" / "IL001_fill_and_tensors.py"
BASELINE = "baseline: "
NOTHING = "import os\n\n\ndef main():\n    print(os.getcwd())\n"


def run_once(argv: Sequence[str], env: Optional[Dict[str, str]] = None) -> Dict[str, float]:
    """Wall seconds, CPU seconds (user+sys, with reaped children) and peak RSS (MiB) of one run."""
    start = time.monotonic()
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024.0, "rc": process.returncode}


def measure(commands: Dict[str, Sequence[str]], runs: int, warmup: int = 1) -> Dict[str, Dict[str, float]]:
    """Run the commands alternately (A B A B ...); medians per command, and the exit codes seen."""
    for _ in range(warmup):
        for argv in commands.values():
            run_once(argv)
    samples: Dict[str, List[Dict[str, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(run_once(argv))
    result = {}
    first = next(iter(samples.values()))
    for name, runs_ in samples.items():
        result[name] = {key: statistics.median(r[key] for r in runs_) for key in ("wall", "cpu", "rss")}
        result[name]["rc"] = max(r["rc"] for r in runs_)
        result[name]["runs"] = len(runs_)
        # The median of each round's own ratio to the first command: a slow spell of the machine
        # weighs on both sides of it alike (what the small-file targets are judged on).
        result[name]["paired"] = statistics.median(a["wall"] / b["wall"] for a, b in zip(first, runs_))
    return result


def build_corpus(corpus: Path, shared: Path) -> None:
    """The shared script downloads the pinned wheels and keeps their .py files."""
    if (corpus / "MANIFEST.txt").exists() and (corpus / "src").is_dir():
        return
    script = shared / "make_corpus.sh"
    if not script.exists():
        sys.exit(f"run_bench: no {script}: pass --shared (the folder with make_corpus.sh)")
    print(f"building the corpus in {corpus} (about 40 MB of downloads) ...", flush=True)
    env = dict(os.environ, CORPUS_DIR=str(corpus), PY=sys.executable)
    subprocess.run(["bash", str(script)], check=True, env=env)


def byte_compile(baseline: Optional[Path] = None) -> None:
    """Compile initlint's modules once, as pip does for a regular install (pre-commit's), and the
    baseline's (with its own interpreter, beside its executable). The README's editable install
    compiles them on first import, unless PYTHONDONTWRITEBYTECODE is set (it is on these
    machines): then every run would compile initlint from source again, ~30-90 ms that no
    installed copy pays, and a baseline left uncompiled would look that much slower."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "initlint"), str(REPO / "rules")], check=True, stdout=subprocess.DEVNULL)
    if baseline is not None:
        python = baseline.parent / "python"
        code = (
            "import compileall, os, initlint, initlint.rules\n"
            "for package in (initlint, initlint.rules):\n"
            "    compileall.compile_dir(os.path.dirname(package.__file__), quiet=1)\n"
        )
        # (run from the executable's folder: from here, `-c` would import this checkout's initlint)
        subprocess.run([str(python) if python.exists() else sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL, cwd=str(baseline.parent))


def initlint_command() -> List[str]:
    """initlint as a user runs it: the console script beside this interpreter, else -m."""
    script = Path(sys.executable).parent / "initlint"
    return [str(script)] if script.exists() else [sys.executable, "-m", "initlint"]


def ruff_command() -> Optional[List[str]]:
    beside = Path(sys.executable).parent / "ruff"
    found = str(beside) if beside.exists() else shutil.which("ruff")
    return [found] if found else None


def row(label: str, m: Dict[str, float], versus: Optional[Dict[str, float]] = None, target: str = "", met: Optional[bool] = None) -> str:
    ratio = f"{m['wall'] / versus['wall']:8.2f}x" if versus else " " * 9
    verdict = "" if met is None else ("met" if met else "MISSED")
    return f"{label:44} {m['wall']:9.3f} {m['cpu']:9.3f} {m['rss']:9.1f} {ratio}  {target:30} {verdict}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "bench", help="the shared bench folder (make_corpus.sh, parse_floor.py)")
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get("CORPUS_DIR", REPO / "bench" / ".corpus")))
    parser.add_argument("--runs", type=int, default=5, help="repetitions of each measurement (medians)")
    parser.add_argument("--skip-floor", action="store_true", help="skip the libcst parse floor (~210 s a run serially)")
    parser.add_argument("--floor-runs", type=int, default=1)
    parser.add_argument("--floor-jobs", type=int, default=1, help="parse_floor.py --jobs (1: serial, as the reference figure)")
    parser.add_argument("--jobs", type=int, default=0, help="initlint --jobs for the corpus runs (0: every core)")
    parser.add_argument("--corpus-only", action="store_true", help="build the corpus and stop")
    parser.add_argument("--baseline", type=Path, help="another build's initlint executable, measured side by side")
    parser.add_argument("--skip-cold", action="store_true", help="skip the cold corpus runs (the warm run, ruff's and the one-file cases remain)")
    args = parser.parse_args()

    corpus = args.corpus.resolve()
    build_corpus(corpus, args.shared.resolve())
    if args.corpus_only:
        return 0
    src = str(corpus / "src")
    byte_compile(args.baseline)
    initlint = initlint_command()
    ruff = ruff_command()
    jobs = ["--jobs", str(args.jobs)] if args.jobs else []
    results: Dict[str, Dict[str, float]] = {}
    print(f"corpus: {src}   runs: {args.runs}   cores: {os.cpu_count()}   python: {sys.version.split()[0]}", flush=True)

    base = [str(args.baseline)] if args.baseline else None

    def with_base(name: str, argv: List[str], cache: Optional[str] = None) -> Dict[str, List[str]]:
        """The command, and the baseline's same command (its own cache folder) when there is one."""
        out = {name: argv}
        if base:
            twin = [*base, *argv[len(initlint):]]
            if cache:
                twin[twin.index(cache)] = cache + "-baseline"
            out[BASELINE + name] = twin
        return out

    ruff_run = [*ruff[:1], "check", "--no-cache", "--isolated", "--select", "F401", "--exit-zero", "-q", src] if ruff else None
    if args.skip_cold:
        if ruff_run:
            results.update(measure({"ruff check --no-cache --select F401": ruff_run}, args.runs))
    else:
        cold = [*initlint, "check", "--no-cache", "--exit-zero", "-q", *jobs, src]
        pair = with_base("initlint cold (--no-cache)", cold)
        if ruff_run:
            pair["ruff check --no-cache --select F401"] = ruff_run
        results.update(measure(pair, args.runs))
        print("measured: cold vs ruff", flush=True)

        serial = [*initlint, "check", "--no-cache", "--exit-zero", "-q", "--jobs", "1", src]
        two = [*initlint, "check", "--no-cache", "--exit-zero", "-q", "--jobs", "2", src]
        results.update(measure({"initlint cold --jobs 1": serial, "initlint cold --jobs 2": two}, max(1, args.runs // 2), warmup=0))
        print("measured: --jobs 1 vs 2", flush=True)

    with tempfile.TemporaryDirectory(prefix="initlint-bench-") as scratch:
        cache = os.path.join(scratch, "cache")
        warm = [*initlint, "check", "--cache-dir", cache, "--exit-zero", "-q", *jobs, src]
        warms = with_base("initlint warm (cache full, nothing changed)", warm, cache)
        for argv in warms.values():
            run_once(argv)  # fill the caches
        results.update(measure(warms, args.runs))
        print("measured: warm", flush=True)

        small = [*initlint, "check", "--no-cache", str(SMALL_FILE)]
        parse_small = [sys.executable, "-c", f"import libcst; libcst.parse_module(open({str(SMALL_FILE)!r}).read())"]
        # Sub-second processes: many rounds, judged on the median of the per-round ratios.
        results.update(measure({"one small file (a finding)": small, "import libcst + parse it": parse_small}, args.runs * 8))
        quiet = os.path.join(scratch, "quiet.py")
        Path(quiet).write_text(NOTHING)
        nothing = [*initlint, "check", "--no-cache", quiet]
        results.update(measure({"a file with nothing to check": nothing, "python -c pass": [sys.executable, "-c", "pass"]}, args.runs * 8))
        if base:
            results.update(measure(with_base("small file, this build", small), args.runs * 8))
            results.update(measure(with_base("nothing to check, this build", nothing), args.runs * 8))
        print("measured: small files", flush=True)

    if not args.skip_floor and not args.skip_cold:  # (the floor is read against the cold run)
        floor = [sys.executable, str(args.shared.resolve() / "parse_floor.py"), "--parser", "libcst", "--jobs", str(args.floor_jobs), src]
        results.update(measure({f"parse_floor.py --parser libcst --jobs {args.floor_jobs}": floor}, args.floor_runs, warmup=0))
        print("measured: libcst floor", flush=True)

    report(results, args)
    return 0


def report(results: Dict[str, Dict[str, float]], args) -> None:
    """The table, with the issue's targets."""
    get = results.get
    ruff = get("ruff check --no-cache --select F401")
    cold = get("initlint cold (--no-cache)")
    warm = results["initlint warm (cache full, nothing changed)"]
    floor = next((v for k, v in results.items() if k.startswith("parse_floor")), None)
    print()
    print(f"{'median over runs':44} {'wall s':>9} {'cpu s':>9} {'peak MiB':>9} {'ratio':>9}  {'target':30}")
    if cold is not None:
        print(row("initlint cold (--no-cache)", cold, ruff, "<= 15 s wall", cold["wall"] <= 15))
    if ruff:
        print(row("ruff check --no-cache --select F401", ruff))
    if cold is not None and ruff:
        within = cold["wall"] / ruff["wall"]
        print(f"{'  initlint cold / ruff':44} {within:9.1f}x (the issue: within 10x)  {'':30} {'met' if within <= 10 else 'MISSED'}")
    print(row("initlint warm (cache full, nothing changed)", warm, ruff, "<= ruff's cold wall", ruff is not None and warm["wall"] <= ruff["wall"]))
    if cold is not None:
        if floor:
            print(row(next(k for k in results if k.startswith("parse_floor")), floor))
            faster = floor["wall"] / cold["wall"]
            print(f"{'  floor / initlint cold':44} {faster:9.1f}x faster than a libcst parse of everything (target >= 10x) {'met' if faster >= 10 else 'MISSED'}")
        j1, j2 = results["initlint cold --jobs 1"], results["initlint cold --jobs 2"]
        print(row("initlint cold --jobs 1", j1))
        print(row("initlint cold --jobs 2", j2, j1))
    small, parse_small = results["one small file (a finding)"], results["import libcst + parse it"]
    small_ratio = parse_small["paired"]  # the median over rounds of small / parse
    print(row("one small file (a finding)", small, parse_small, "<= 1.2x import libcst + parse", small_ratio <= 1.2))
    print(row("import libcst + parse it", parse_small))
    print(f"{'  median of the per-round ratios':44} {small_ratio:9.2f}x")
    nothing, bare = results["a file with nothing to check"], results["python -c pass"]
    nothing_ratio = bare["paired"]
    print(row("a file with nothing to check", nothing, bare, "<= 3x python -c pass", nothing_ratio <= 3))
    print(row("python -c pass", bare))
    print(f"{'  median of the per-round ratios':44} {nothing_ratio:9.2f}x")
    if cold is not None:
        peak = max(cold["rss"], warm["rss"])
        print(f"{'peak memory (corpus runs, largest process)':44} {peak:9.1f} MiB{'':22}  {'<= 300 MB':30} {'met' if peak * 1.048576 <= 300 else 'MISSED'}")
    if args.baseline:
        print()
        print(f"side by side with the baseline {args.baseline} (ratio: this build / the baseline, same rounds)")
        for name in ("initlint cold (--no-cache)", "initlint warm (cache full, nothing changed)", "small file, this build", "nothing to check, this build"):
            if name not in results:
                continue
            mine, theirs = results[name], results[BASELINE + name]
            print(row(name, mine))
            print(row(BASELINE + name, theirs))
            print(f"{'  this build / baseline (paired rounds)':44} {theirs['paired']:9.2f}x   cpu {mine['cpu'] / theirs['cpu']:.2f}x")
    codes = sorted({int(v['rc']) for v in results.values()})
    print(f"exit codes seen: {codes}")


if __name__ == "__main__":
    sys.exit(main())
