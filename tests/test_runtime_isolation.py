"""Fault isolation: user code that raises, hangs, crashes, exits, eats memory or floods stdout.

All targets run in one batch (as `initlint runtime` runs them): each broken one becomes one clear
IL104 diagnostic, the healthy ones still report, and no process is left behind.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("torch")
resource = pytest.importorskip("resource")  # the memory limit is POSIX-only

from initlint.runtime import diagnostics, isolate
from initlint.runtime.spec import Target
from proctable import alive as _alive, children_of as _children_of

FAULTS = Path(__file__).resolve().parent / "runtime_models" / "faults.py"
TIMEOUT = 4.0


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    pidfile = tmp_path_factory.mktemp("pid") / "child.pid"
    os.environ["INITLINT_TEST_PIDFILE"] = str(pidfile)
    names = [
        "Healthy", "RaisesInInit", "RaisesInForward", "Hangs", "Exits", "CallsSysExit",
        "Segfaults", "EatsMemory", "PrintsMegabytes", "SpawnsAndHangs",
    ]
    options = {"kwargs": {}, "device": "cpu", "steps": 3, "threads": 1, "memory_limit_mb": 1500, "input_shapes": [{"shape": [4, 4], "dtype": "float32"}]}
    targets = [Target(path=str(FAULTS), name=n) for n in names]
    jobs = [(t.label, dict(options, mode="probe", target=t.to_dict())) for t in targets]
    try:
        results = isolate.run_many(jobs, TIMEOUT, workers=3)
    finally:
        del os.environ["INITLINT_TEST_PIDFILE"]
    found = {n: (r, diagnostics.from_result(r, t)) for n, r, t in zip(names, results, targets)}
    return found, pidfile


def one_error(batch, name):
    result, found = batch[0][name]
    assert len(found) == 1, found
    (diagnostic,) = found
    assert diagnostic.code == "IL104" and diagnostic.path.endswith("faults.py")
    return result, diagnostic


def test_healthy_neighbour_still_reports(batch):
    result, found = batch[0]["Healthy"]
    assert result.status == "ok" and result.report is not None and result.report.ok and found == []


def test_exception_in_init(batch):
    _, d = one_error(batch, "RaisesInInit")
    assert "raised ValueError while building: bad config: width must be even" in d.message
    assert "faults.py:27" in d.message  # where in the user's code
    assert d.location.row == 24  # the class definition


def test_exception_in_forward(batch):
    _, d = one_error(batch, "RaisesInForward")
    assert "raised RuntimeError while probing: forward is broken" in d.message


def test_hang_is_killed_at_the_timeout(batch):
    result, d = one_error(batch, "Hangs")
    assert result.status == "timeout"
    assert f"timed out after {TIMEOUT:g} s while probing" in d.message
    assert result.seconds < TIMEOUT + 60  # torch's import is not on the clock


def test_os_exit(batch):
    result, d = one_error(batch, "Exits")
    assert result.status == "crash" and "exited with status 3 while building" in d.message


def test_sys_exit(batch):
    _, d = one_error(batch, "CallsSysExit")
    assert "sys.exit(4) was called while building" in d.message


def test_segfault(batch):
    result, d = one_error(batch, "Segfaults")
    assert "crashed with SIGSEGV (segmentation fault) while building" in d.message
    assert "Fatal Python error" in result.output  # faulthandler's traceback is in the kept tail


def test_memory_limit(batch):
    result, d = one_error(batch, "EatsMemory")
    assert result.kind == "oom"
    assert d.message.startswith("could not run EatsMemory: ran out of memory while building")


def test_megabytes_of_output_neither_deadlock_nor_stay(batch):
    result, found = batch[0]["PrintsMegabytes"]
    assert result.status == "ok" and found == []
    assert len(result.output) <= isolate.TAIL_BYTES + 3
    assert "LAST LINE OF OUTPUT" in result.output


def test_no_process_is_left_behind(batch):
    result, _ = one_error(batch, "SpawnsAndHangs")
    assert result.status == "timeout"
    child = int(batch[1].read_text())
    assert not _alive(child), "the grandchild the model spawned survived"
    assert _children_of(os.getpid()) == []
