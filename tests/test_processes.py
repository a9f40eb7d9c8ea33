"""Bounded, clean processes: `jobs` capped by the cores and the files, a failed fork degrades to
linting in one process, and SIGINT/SIGTERM of the parent ends every worker (the lint pool, the
runtime workers and the daemons their models started) with exit 130/143 and no traceback.

Signals and fork limits are exercised on a real `python -m initlint` in a subprocess; the fork
limit as an unprivileged user (RLIMIT_NPROC does not bind root)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import List

import pytest

from conftest import FIXTURES, ROOT, settings
from initlint import engine, workers
from proctable import children_of, survivors
from unprivileged import command, posix_only, share

pytestmark = posix_only

FINDING = FIXTURES / "IL001_fill_and_tensors.py"


def _tree(folder: Path, count: int) -> Path:
    for i in range(count):
        shutil.copyfile(FINDING, folder / f"m{i:04}.py")
    return folder


# ---- how many workers ----------------------------------------------------------------------------


def test_jobs_are_capped_by_cores_and_files(monkeypatch):
    monkeypatch.setattr(engine, "cpu_count", lambda: 4)
    assert engine.worker_count(500, 1000) == 4
    assert engine.worker_count(0, 1000) == 4
    assert engine.worker_count(3, 1000) == 3
    assert engine.worker_count(500, 2) == 2
    assert engine.worker_count(0, 0) == 1


def test_a_huge_jobs_setting_starts_no_more_workers_than_cores(tmp_path, monkeypatch):
    seen = []
    real = workers.map_ordered

    def recording(function, items, jobs):
        seen.append(jobs)
        return real(function, items, jobs)

    monkeypatch.setattr(workers, "map_ordered", recording)
    monkeypatch.setattr(engine, "cpu_count", lambda: 2)
    paths = [str(p) for p in sorted(_tree(tmp_path, 12).iterdir())]
    results = engine.lint_paths(paths, settings(jobs=500, no_cache=True))
    assert [r.path for r in results] == paths and all(r.diagnostics for r in results)
    assert seen == [2]


# ---- a failed fork ---------------------------------------------------------------------------------


def test_a_failed_fork_degrades_to_one_process(tmp_path, monkeypatch):
    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    paths = [str(p) for p in sorted(_tree(tmp_path, 12).iterdir())]
    monkeypatch.setattr(engine, "cpu_count", lambda: 4)
    monkeypatch.setattr(os, "fork", no_fork)
    results = engine.lint_paths(paths, settings(jobs=4, no_cache=True))
    assert [r.path for r in results] == paths and all(r.diagnostics for r in results)


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 6])
def test_a_fork_limit_still_finishes_the_run_as_an_unprivileged_user(tmp_path, limit):
    """RLIMIT_NPROC (processes and threads of the user): with 1 nothing can start; with a few,
    some workers start and the next fork (or, with ProcessPoolExecutor, its feeder thread) fails,
    which used to leave the run waiting for ever. Every file is reported, the run exits."""
    share(tmp_path)
    _tree(tmp_path, 16)
    limited = (
        f"import os, resource, sys; resource.setrlimit(resource.RLIMIT_NPROC, ({limit}, {limit})); "
        "os.execv(sys.executable, [sys.executable, '-m', 'initlint', 'check', '--no-cache', '--jobs', '4', '.'])"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1", HOME=str(tmp_path))
    result = subprocess.run(command([sys.executable, "-c", limited]), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr[-2000:]
    assert len({line.split(":")[0] for line in result.stdout.splitlines()}) == 16
    assert "Traceback" not in result.stderr


def test_a_worker_killed_mid_run_does_not_lose_files(tmp_path):
    """The out-of-memory killer takes a worker: the files are linted in the parent instead."""
    _tree(tmp_path, 400)
    process = _start(tmp_path, "check", "--no-cache", "--jobs", "2", ".")
    pool = _wait_for_children(process, 2)
    time.sleep(0.3)
    os.kill(pool[0], signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 1, stderr[-2000:]
    assert len({line.split(":")[0] for line in stdout.splitlines()}) == 400
    assert "Traceback" not in stderr


# ---- signals: the lint pool ------------------------------------------------------------------------------


def _start(folder: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "initlint", *args], cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,  # its own process group, as a shell gives a foreground job
    )


def _interrupt(process: subprocess.Popen, how: str) -> str:
    """Ctrl-C as a terminal sends it (SIGINT to the process group), or SIGTERM to the parent
    alone (a service manager, a CI runner); the run's stderr once it has ended."""
    if how == "sigint-to-the-group":
        os.killpg(process.pid, signal.SIGINT)
    else:
        os.kill(process.pid, signal.SIGTERM)
    try:
        return process.communicate(timeout=30)[1]
    finally:
        process.kill()


def _wait_for_children(process: subprocess.Popen, count: int, seconds: float = 60) -> List[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = children_of(process.pid)
        if len(found) >= count:
            return found
        if process.poll() is not None:
            break
        time.sleep(0.02)
    process.kill()
    pytest.fail(f"no {count} worker processes appeared: {process.communicate()[1][-2000:]}")


@pytest.mark.parametrize(
    "how, code",
    [("sigint-to-the-group", 130), ("sigterm-to-the-parent", 143)],
)
def test_an_interrupted_lint_ends_every_worker(tmp_path, how, code):
    """Ctrl-C in a terminal signals the whole process group; a service manager or a CI runner
    sends SIGTERM to the parent alone. Either way: no worker outlives the run, exit 128 + N, and
    one line on stderr instead of a traceback a worker."""
    _tree(tmp_path, 600)
    process = _start(tmp_path, "check", "--no-cache", "--jobs", "2", ".")
    pool = _wait_for_children(process, 2)
    time.sleep(0.5)  # mid-way through the files
    stderr = _interrupt(process, how)
    assert process.returncode == code, stderr[-3000:]
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert len(stderr.strip().splitlines()) == 1 and "interrupted" in stderr, stderr[-3000:]
    assert survivors(pool) == []


def test_workers_of_a_parent_killed_outright_do_not_linger(tmp_path):
    """SIGKILL cannot be caught: the workers must see the parent's end of their pipes close.
    Regression: each worker held copies of the parent's ends (its own, its elder siblings'), so
    they waited for ever."""
    _tree(tmp_path, 1500)
    process = _start(tmp_path, "check", "--no-cache", "--jobs", "2", ".")
    pool = _wait_for_children(process, 2)
    time.sleep(0.5)
    process.kill()
    process.communicate(timeout=30)
    left = survivors(pool, 30)  # (a worker finishes the files it holds, then finds the pipe closed)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []


def _sources(folder):
    """The contents of the .py files in folder; a temporary renamed away while we look is skipped."""
    contents = set()
    for path in folder.glob("*.py"):
        try:
            contents.add(path.read_bytes())
        except FileNotFoundError:
            pass
    return contents


def test_an_interrupt_while_fixing_leaves_whole_files(tmp_path):
    """SIGTERM during --fix: each file holds its old text or its new one, and no temporary is left."""
    before = (FIXTURES / "IL004_lenet_seed004.py").read_bytes()
    after = (FIXTURES / "IL004_lenet_seed004.fixed").read_bytes()
    for i in range(300):
        (tmp_path / f"m{i:04}.py").write_bytes(before)
    process = _start(tmp_path, "check", "--no-cache", "--jobs", "2", "--fix", ".")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and after not in _sources(tmp_path):
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGTERM)
    process.communicate(timeout=30)
    assert process.returncode == 143
    contents = {p.read_bytes() for p in tmp_path.iterdir()}
    assert contents <= {before, after} and after in contents
    assert not [p for p in tmp_path.iterdir() if not p.name.endswith(".py")]


# ---- signals: the runtime workers ---------------------------------------------------------------------------

SLEEPER = '''
import os, subprocess, sys, time
import torch.nn as nn

MARKS = {marks!r}


class Sleeper{n}(nn.Module):
    """Starts a daemon that leaves the worker's session, then sleeps in __init__."""

    def __init__(self):
        super().__init__()
        daemon = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", {token!r}], start_new_session=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(MARKS, "{n}"), "w") as handle:
            handle.write(f"{{os.getpid()}} {{daemon.pid}}")
        time.sleep(300)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)
'''


@pytest.mark.parametrize("how, code", [("sigterm-to-the-parent", 143), ("sigint-to-the-group", 130)])
def test_an_interrupted_runtime_run_ends_workers_and_their_daemons(tmp_path, how, code):
    pytest.importorskip("torch")
    token = f"initlint-test-{uuid.uuid4().hex}"
    marks = tmp_path / "marks"
    marks.mkdir()
    for n in (1, 2):
        (tmp_path / f"sleeper{n}.py").write_text(SLEEPER.format(n=n, marks=str(marks), token=token))
    process = _start(tmp_path, "runtime", "sleeper1.py::Sleeper1", "sleeper2.py::Sleeper2", "--jobs", "2", "--timeout", "600", "--input-shape", "4,4")
    deadline = time.monotonic() + 240  # two workers import torch
    while time.monotonic() < deadline and len(list(marks.iterdir())) < 2 and process.poll() is None:
        time.sleep(0.05)
    time.sleep(0.2)
    pids = [int(pid) for mark in marks.iterdir() for pid in mark.read_text().split()]
    assert len(pids) == 4, process.communicate(timeout=5) if process.poll() is not None else "the models did not start"
    stderr = _interrupt(process, how)
    left = survivors(pids)
    for pid in left:  # don't leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert process.returncode == code, stderr[-3000:]
    assert left == [], "a worker or a daemon it started outlived the run"
    # one line says so; the progress lines of the targets that had started may come before it,
    # but none reports the targets the interrupt killed as crashes
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("runtime: started ")]
    assert "Traceback" not in stderr and len(lines) == 1 and "interrupted" in lines[0], stderr[-3000:]
