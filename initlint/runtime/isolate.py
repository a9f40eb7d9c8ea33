"""Run each target in its own worker process, with a timeout, and turn whatever happens into plain data.

No torch here: the parent only starts `python -m initlint.runtime.worker` and reads its result
file. The timeout bounds the user's code: its clock starts once the worker has imported torch.
Each worker runs in a new session (its own process group), so on timeout the whole group
(the worker and anything the user's code spawned) is killed with SIGKILL, and the group is
killed again after a normal exit so that no stray child outlives the run. Output goes to a
temporary file, never a pipe: a model that prints megabytes cannot deadlock the parent, and only
the tail is kept. A worker that dies without finishing its result file crashed (signal, os._exit,
OOM killer); the phase it last wrote says what it was doing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from initlint.runtime.results import Report

TAIL_BYTES = 4000
IMPORT_ALLOWANCE = 120.0  # seconds torch's import may take on top of the timeout
POLL = 0.05
PREAMBLE = ("starting", "importing torch")  # the worker's phases before the user's code runs
# Every worker gets a token in its environment; whatever it starts inherits it, so processes that
# left the worker's process group (a new session, a double fork) can still be found and killed.
_TOKEN = "INITLINT_RUNTIME_TOKEN"
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass(frozen=True)
class Result:
    """What happened to one target."""

    label: str  # the target as the user wrote it
    status: str  # "ok", "error" (user code failed or could not be set up), "crash", "timeout"
    phase: str  # what the worker was doing last
    name: Optional[str] = None  # the class / factory / instance's class
    instance: Optional[str] = None  # the module-level variable probed, when the target is an instance
    path: Optional[str] = None
    line: Optional[int] = None
    report: Optional[Report] = None
    error: Optional[str] = None  # one line, for the diagnostic
    kind: Optional[str] = None  # exception, setup, oom, exit, signal, timeout
    output: str = ""  # the tail of the worker's stdout+stderr
    classes: Optional[List[Dict[str, Any]]] = None  # discovery mode
    seconds: float = 0.0
    data: Optional[Dict[str, Any]] = None  # the worker's whole result document (the recipes mode reads it)


def _signal_name(number: int) -> str:
    try:
        name = signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
    meaning = {"SIGSEGV": "segmentation fault", "SIGKILL": "killed, e.g. by the out-of-memory killer",
               "SIGABRT": "aborted", "SIGBUS": "bus error", "SIGFPE": "arithmetic error", "SIGILL": "illegal instruction"}
    return f"{name} ({meaning[name]})" if name in meaning else name


def _kill_group(pid: int) -> None:
    """SIGKILL the worker's process group (the worker leads it); gone already is fine."""
    if not hasattr(os, "killpg"):
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_marked(token: str) -> None:
    """SIGKILL every process whose environment carries this worker's token (Linux /proc; elsewhere
    the process-group kill is all there is)."""
    needle = f"{_TOKEN}={token}".encode()
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return
    for entry in entries:
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                marked = needle in handle.read().split(b"\0")
            if marked:
                os.kill(int(entry), signal.SIGKILL)
        except OSError:  # gone meanwhile, or another user's process
            continue


def _tail(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            data = handle.read()
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    return ("..." if size > TAIL_BYTES else "") + text


def _environment(threads: Optional[int]) -> Dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"  # the last lines before a crash reach the log
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def run(label: str, request: Dict[str, Any], timeout: float, stop: Optional[threading.Event] = None) -> Result:
    """Run one worker for `request` and describe its outcome; `stop` set: kill it now (an
    interrupt of the parent, seen by `run_many`'s threads)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="initlint-runtime-") as folder:
        request_path = os.path.join(folder, "request.json")
        result_path = os.path.join(folder, "result.json")
        log_path = os.path.join(folder, "output.log")
        with open(request_path, "w", encoding="utf-8") as handle:
            json.dump(request, handle)
        timed_out = False
        token = uuid.uuid4().hex
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "initlint.runtime.worker", request_path, result_path],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, env=dict(_environment(request.get("threads")), **{_TOKEN: token}),
            )
            try:
                code, timed_out = _wait(process, result_path, timeout, stop)
            except BaseException:  # Ctrl-C in the parent: take the worker down with us
                _kill_group(process.pid)
                process.wait()
                raise
            finally:
                _kill_group(process.pid)  # strays: whatever the user's code spawned
                _kill_marked(token)  # and those of them that left the group
        data = _read(result_path)
        output = _tail(log_path)
    return _describe(label, data, code, timed_out, timeout, output, time.monotonic() - started)


def _wait(process: subprocess.Popen, result_path: str, timeout: float, stop: Optional[threading.Event] = None) -> Tuple[int, bool]:
    """(exit code, timed out). The clock starts once torch is imported: `timeout` bounds the user's code.

    Importing torch takes from one second to a minute (cold caches, network file systems); it
    must not eat the user's budget, but it is capped at IMPORT_ALLOWANCE all the same.
    """
    started = time.monotonic()
    deadline: Optional[float] = None
    progress = None
    while True:
        if stop is not None and stop.is_set():
            _kill_group(process.pid)
            return process.wait(), False
        now = time.monotonic()
        limit = deadline if deadline is not None else started + IMPORT_ALLOWANCE + timeout
        try:
            return process.wait(max(0.0, min(POLL, limit - now))), False
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        data = _read(result_path)
        if deadline is None and data.get("phase") not in PREAMBLE:
            deadline = now + timeout
        if deadline is not None and data.get("progress") != progress:
            # A worker running several recipes reports each one done: each gets the whole timeout.
            progress, deadline = data.get("progress"), now + timeout
        if now >= (deadline if deadline is not None else started + IMPORT_ALLOWANCE + timeout):
            _kill_group(process.pid)
            return process.wait(), True


def _read(path: str) -> Dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {"status": "running", "phase": "starting"}


def _describe(label: str, data: Dict[str, Any], code: int, timed_out: bool, timeout: float, output: str, seconds: float) -> Result:
    phase = data.get("phase", "starting")
    common: Dict[str, Any] = {
        "label": label, "phase": phase, "name": data.get("label"), "instance": data.get("instance"),
        "path": data.get("path"), "line": data.get("line"), "output": output, "seconds": seconds, "data": data,
        "report": Report.from_dict(data["report"]) if data.get("report") else None,
    }
    if data.get("status") == "ok":
        return Result(status="ok", classes=data.get("classes"), **common)
    if data.get("status") == "error":
        error = data.get("error") or {}
        kind = error.get("kind")
        if kind == "setup":
            text = str(error.get("message"))
        elif kind == "exit":
            text = f"{error.get('message')} while {phase}"
        elif kind == "oom":
            text = f"ran out of memory while {phase}: {error.get('type')}: {error.get('message')}"
        else:
            text = f"raised {error.get('type')} while {phase}: {error.get('message')}"
        if error.get("where"):
            text += f" (at {error['where']})"
        return Result(status="error", error=text, kind=error.get("kind"), **common)
    if timed_out:
        return Result(status="timeout", kind="timeout", error=f"timed out after {timeout:g} s while {phase} (killed)", **common)
    if code < 0:
        text = f"crashed with {_signal_name(-code)} while {phase}"
        return Result(status="crash", kind="signal", error=text, **common)
    text = f"the process exited with status {code} while {phase}, before reporting (os._exit() in the model's code?)"
    return Result(status="crash", kind="exit", error=text, **common)


def run_many(jobs: Sequence[Any], timeout: float, workers: int, progress: Optional[Any] = None) -> List[Result]:
    """`run` for each (label, request) pair, `workers` at a time, in the order given.

    `progress` (see `initlint.runtime.progress`) hears of each job as it starts and ends. An
    interrupt (it reaches the main thread only) stops the threads, and each kills its worker and
    whatever that started, before it goes on up.
    """
    stop = threading.Event()

    def one(job: Any) -> Result:
        if progress is not None:
            progress.start(job[0])
        result = run(job[0], job[1], timeout, stop)
        if progress is not None and not stop.is_set():  # (killed by an interrupt: not its failure)
            progress.end(job[0], result)
        return result

    if workers <= 1 or len(jobs) <= 1:
        return [one(job) for job in jobs]
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        return list(pool.map(one, jobs))
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # within a poll once `stop` is set


def worker_count(requested: Optional[int], count: int, device: str) -> int:
    """Parallel workers for `count` targets. Asked for (`--jobs`): never more than the cores this
    process may run on nor than the targets (`--jobs 500` must not start 500 processes that each
    import torch and build a model). By default one on a GPU (they would share its memory), else
    up to 4 within the cores."""
    from initlint.engine import cpu_count  # (the affinity mask: a container's share, not the host's)

    cores = cpu_count()
    if requested:
        return max(1, min(requested, cores, count))
    if device != "cpu":
        return 1
    return max(1, min(count, 4, cores))


def threads_per_worker(workers: int) -> int:
    """Torch threads for each worker so that parallel workers do not oversubscribe the CPUs."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))
