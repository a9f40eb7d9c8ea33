"""Runtime mode under fault, end to end: `python -m initlint runtime` over every faulty target at once.

tests/test_runtime_isolation.py checks each fault through `isolate.run_many`; this runs the real
command line in a subprocess, faults side by side with healthy targets, and then looks at the whole
process table (not only the test's children): no worker and nothing the user code started survives,
not even a grandchild that left the worker's session.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

pytest.importorskip("torch")
pytest.importorskip("resource")

from conftest import ROOT

FAULTS = ROOT / "tests" / "runtime_models" / "faults.py"
TIMEOUT = 4
FAULTY = ["RaisesInInit", "RaisesInForward", "Hangs", "Exits", "CallsSysExit", "Segfaults", "EatsMemory", "SpawnsAndHangs"]

ESCAPER = '''
import subprocess, sys
import torch.nn as nn


class LeavesTheSession(nn.Module):
    """Starts a grandchild in a session of its own (out of the worker's process group), then works."""

    def __init__(self):
        super().__init__()
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", "{token}"], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x)
'''


def _processes_with(needle: str):
    """Live pids whose command line contains `needle` (from /proc: psutil is not a dependency)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode("utf-8", "replace")
            with open(f"/proc/{entry}/stat") as handle:
                state = handle.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if needle in cmdline and state != "Z":
            found.append(int(entry))
    return found


def _workers_of(marker: str):
    """Live runtime workers started by this test's run: their environment carries `marker`.

    Other sessions may run initlint's workers on the same machine at the same time: a worker
    is this test's only if it inherited the test's marker, so no one else's is counted or killed."""
    needle = f"INITLINT_TEST_RUN={marker}".encode()
    found = []
    for pid in _processes_with("initlint.runtime.worker"):
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                if needle in handle.read().split(b"\0"):
                    found.append(pid)
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    token = f"initlint-test-{uuid.uuid4().hex}"
    (folder / "escaper.py").write_text(ESCAPER.format(token=token))
    pidfile = folder / "child.pid"
    targets = [f"{FAULTS}::Healthy", *(f"{FAULTS}::{name}" for name in FAULTY), f"{folder / 'escaper.py'}::LeavesTheSession", f"{FAULTS}::PrintsMegabytes"]
    command = [sys.executable, "-m", "initlint", "runtime", *targets, "--input-shape", "4,4", "--timeout", str(TIMEOUT),
               "--memory-limit", "1500", "--jobs", "3", "--format", "json"]
    env = dict(os.environ, INITLINT_TEST_PIDFILE=str(pidfile), PYTHONPATH=str(ROOT), INITLINT_TEST_RUN=token)
    started = time.monotonic()
    result = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - started
    time.sleep(0.5)  # SIGKILLed processes leave the table asynchronously
    left = {"workers": sorted(_workers_of(token)), "escaped": _processes_with(token)}
    if pidfile.exists():
        left["spawned"] = [int(pidfile.read_text())] if _processes_with("time.sleep(300)") and int(pidfile.read_text()) in _processes_with("time.sleep(300)") else []
    yield result, seconds, left
    for pid in left["workers"] + left["escaped"] + left.get("spawned", []):  # don't leave them to the next test
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _found(result):
    assert result.returncode in (0, 1), (result.returncode, result.stderr[-3000:])
    return json.loads(result.stdout)


def test_each_fault_is_one_diagnostic_in_one_run(run):
    result, _, _ = run
    found = _found(result)
    for name in FAULTY:
        mine = [d for d in found if d["message"].startswith(f"could not run {name}:") or d["message"].startswith(f"{name}:")]
        assert len(mine) == 1 and mine[0]["code"] == "IL104", (name, mine, [d["message"][:80] for d in found])


def test_healthy_targets_still_report(run):
    result, _, _ = run
    found = _found(result)
    for name in ("Healthy", "PrintsMegabytes", "LeavesTheSession"):
        assert not [d for d in found if name in d["message"]], name
        assert f"{name}: " in result.stderr  # the per-target summary line


def test_the_run_is_bounded_by_the_timeouts(run):
    _, seconds, _ = run
    # 11 targets, 3 at a time, each a torch import plus at most TIMEOUT s of user code.
    assert seconds < 4 * (TIMEOUT + 60)


def test_no_process_survives_the_run(run):
    _, _, left = run
    assert left["workers"] == [], "initlint.runtime.worker processes survived"
    assert left.get("spawned", []) == [], "the grandchild of SpawnsAndHangs survived"


def test_no_grandchild_that_left_the_session_survives(run):
    _, _, left = run
    assert left["escaped"] == [], "a grandchild in its own session outlived the run"
