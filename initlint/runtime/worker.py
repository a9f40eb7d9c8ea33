"""`python -m initlint.runtime.worker REQUEST.json RESULT.json`: probe one target in this process.

The parent (`isolate`) starts one worker per target in its own session, with stdout and stderr
going to a temporary file, and kills the whole process group on timeout. The worker reports
through RESULT.json only (user code may print anything): it writes its phase there before each
step, so a crash or hang still says what it was doing, then the full result, then leaves with
`os._exit(0)` so that threads the user's code started cannot keep it alive.
"""

from __future__ import annotations

import faulthandler
import inspect
import json
import os
import signal
import sys
import traceback
from typing import Any, Dict, List, Optional

OUTPUT_FILE_LIMIT = 1 << 30  # bytes a file (the output log) may grow to: a print loop cannot fill the disk


class Channel:
    """Writes the result file atomically (a reader never sees half a JSON document)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.data: Dict[str, Any] = {"status": "running", "phase": "starting"}

    def update(self, **values: Any) -> None:
        """Merge `values` into the result and rewrite the file."""
        self.data.update(values)
        temporary = self.path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(self.data, handle, default=str)
        os.replace(temporary, self.path)

    def phase(self, name: str) -> None:
        """Record what the worker is about to do."""
        self.update(phase=name)


def _limit_resources(memory_mb: Optional[int]) -> None:
    try:
        import resource
    except ImportError:  # not POSIX: no limits, the timeout still applies
        return
    if hasattr(signal, "SIGXFSZ"):
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail instead of killing us
        resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_FILE_LIMIT, OUTPUT_FILE_LIMIT))
    if memory_mb:
        limit = memory_mb * (1 << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _where(error: BaseException) -> Optional[str]:
    """`file:line` of the innermost frame of the user's code in the traceback."""
    from initlint.runtime.recorder import is_user_file

    found = None
    for frame, line in traceback.walk_tb(error.__traceback__):
        if is_user_file(frame.f_code.co_filename) and not frame.f_code.co_filename.endswith("worker.py"):
            found = f"{os.path.relpath(frame.f_code.co_filename)}:{line}"
    return found


def _kind(error: BaseException) -> str:
    text = str(error)
    if isinstance(error, MemoryError) or "can't allocate memory" in text or "out of memory" in text.lower():
        return "oom"
    if isinstance(error, SystemExit):
        return "exit"
    return "exception"


def describe_error(error: BaseException) -> str:
    """One line: `raised ValueError: bad config (at model.py:27)`, `sys.exit(4) was called`, a setup message."""
    data = error_data(error)
    if data["kind"] in ("setup", "exit"):
        text = str(data["message"])
    elif data["kind"] == "oom":
        text = f"ran out of memory: {data['type']}: {data['message']}"
    else:
        text = f"raised {data['type']}: {data['message']}"
    return text + (f" (at {data['where']})" if data.get("where") else "")


def error_data(error: BaseException) -> Dict[str, Any]:
    """The error as plain data: kind, type, first lines of the message, and where in the user's code."""
    from initlint.runtime.api import DeviceError, probe
    from initlint.runtime.loader import BuildError
    from initlint.runtime.shapes import InputError

    text = str(error).strip()
    if isinstance(error, NotImplementedError) and 'missing the required "forward" function' in text:
        return {"kind": "setup", "type": type(error).__name__, "message": "it has no forward() to train", "where": None}
    lines = text.splitlines()
    message = " ".join(lines[:3]) + (" ..." if len(lines) > 3 else "")
    if isinstance(error, (BuildError, InputError, probe.ProbeError, DeviceError)):
        return {"kind": "setup", "type": type(error).__name__, "message": message, "where": None}
    if isinstance(error, SystemExit):
        message = f"sys.exit({error.code!r}) was called"
    return {"kind": _kind(error), "type": type(error).__name__, "message": message[:2000], "where": _where(error)}


def _discover(channel: Channel, request: Dict[str, Any]) -> None:
    from initlint.runtime import loader
    from initlint.runtime.spec import Target

    target = Target.from_dict(request["target"])
    channel.phase("importing")
    module = loader.import_module(target)
    channel.phase("listing")
    classes: List[Dict[str, Any]] = []
    for item in loader.discover(module):
        value = getattr(module, item["name"])
        item["accepts"], item["var_keyword"] = _accepted(value)
        item["kind"] = "class"
        classes.append(item)
    classes += loader.discover_instances(module) + loader.discover_factories(module)
    channel.update(status="ok", phase="done", classes=classes)


def _accepted(value: Any) -> Any:
    """(parameter names, whether it takes **kwargs) of a class's constructor."""
    try:
        parameters = inspect.signature(value).parameters.values()
    except (TypeError, ValueError):
        return [], True
    return [p.name for p in parameters], any(p.kind is p.VAR_KEYWORD for p in parameters)


def _probe(channel: Channel, request: Dict[str, Any]) -> None:
    from torch import nn

    from initlint.runtime import api, loader
    from initlint.runtime.canary import Canary, untouched
    from initlint.runtime.recorder import preinstall
    from initlint.runtime.session import evaluate_inputs
    from initlint.runtime.spec import InputSpec, Target

    target = Target.from_dict(request["target"])
    preinstall()  # before the user's module binds `from torch.nn.init import ...`
    channel.phase("importing")
    with Canary():  # module-level instances are built now: IL107 can still be told
        module = loader.import_module(target)
    assert target.name is not None
    value: Any = loader.resolve(module, target.name)
    path, line = loader.location(value)
    label = type(value).__name__ if isinstance(value, nn.Module) else getattr(value, "__qualname__", target.name)
    instance = target.name if isinstance(value, nn.Module) else None
    channel.update(label=label, path=path, line=line, instance=instance)
    specs = [InputSpec.from_dict(s) for s in request.get("input_shapes") or []]
    channel.phase("building")
    if isinstance(value, nn.Module):
        built = loader.Built(value, label, construction=untouched(value, label))  # the canary was on while it was built
    else:
        built = loader.build(value, request.get("kwargs") or {}, label)
    examples, forward_kwargs = evaluate_inputs(request.get("inputs") or (), module)
    try:
        report = api.probe_built(
            built,
            *examples,
            steps=request.get("steps", 3),
            device=request.get("device", "cpu"),
            lr=request.get("lr", 0.01),
            seed=request.get("seed", 0),
            input_shapes=specs or None,
            on_phase=channel.phase,
            randomize_inputs=not examples,
            input_kwargs=forward_kwargs or None,
            keep=tuple(request.get("keep") or ()),
        )
    except BaseException as error:  # what construction proved still stands; the error becomes IL104
        channel.update(report=api.construction_report(built, describe_error(error)).to_dict())
        raise
    channel.update(status="ok", phase="done", report=report.to_dict())


def main(argv: List[str]) -> None:
    """Run one request; always leave a result file (unless killed), and exit 0."""
    request_path, result_path = argv
    channel = Channel(result_path)
    faulthandler.enable(file=sys.stderr, all_threads=True)  # a segfault leaves a traceback in the log
    with open(request_path, encoding="utf-8") as handle:
        request = json.load(handle)
    try:
        channel.phase("importing torch")
        import torch

        if request.get("threads"):
            torch.set_num_threads(int(request["threads"]))
        torch.manual_seed(int(request.get("seed", 0)))  # the model's own random init: the same verdict on every run
        _limit_resources(request.get("memory_limit_mb"))  # after torch: its import alone maps ~0.5 GB
        # The user's file sees itself run with no arguments: argparse at module level takes its
        # defaults instead of choking on the worker's own arguments.
        target = request.get("target") or {}
        sys.argv = [target.get("path") or target.get("module") or "model.py"]
        if request.get("mode") == "discover":
            _discover(channel, request)
        elif request.get("mode") == "recipes":
            from initlint.runtime import session

            session.run(channel, request, describe_error)
        else:
            _probe(channel, request)
    except BaseException as error:  # everything the user's code can throw, SystemExit included
        try:
            channel.update(status="error", error=error_data(error))
        except BaseException:  # out of memory while reporting: the parent reads the phase
            pass
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
