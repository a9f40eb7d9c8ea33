"""`initlint runtime TARGET...`: the click command (register it with `main.add_command(runtime_command)`).

The parent process never imports torch or the user's code: it parses the command line, asks
workers to list what `path.py` targets define, runs one worker per target, and prints the
diagnostics in the same formats as the static pass.

Exit codes (ruff's convention): 0 nothing found; 1 at least one diagnostic, including IL104 for a
target that raised, crashed, hung or ran out of memory (the model is broken: CI must fail);
2 usage errors (bad target, bad --args JSON, bad shape or --input, bad configuration, torch not
installed, nothing to run).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import click

from initlint.diagnostic import Diagnostic
from initlint.runtime import INSTALL_HINT, codes, diagnostics, isolate, settings, torch_available
from initlint.runtime.progress import Progress
from initlint.runtime.settings import RuntimeSettings, TargetOptions
from initlint.runtime.spec import (
    InputSpec,
    Target,
    UsageError,
    parse_args_json,
    parse_dtype,
    parse_shapes,
    parse_target,
)

FORMATS = ("concise", "full", "json", "github", "sarif")


def _request(target: Target, mode: str, options: Dict[str, Any]) -> Dict[str, Any]:
    return dict(options, mode=mode, target=target.to_dict())


def _configured(target: Target, options: Dict[str, Any], config: RuntimeSettings) -> Dict[str, Any]:
    """The request options of one target: the command line's, else `[tool.initlint.runtime.targets]`'s for its class."""
    found: Optional[TargetOptions] = config.for_class(target.path, target.name) if target.path and target.name else None
    if found is None:
        return options
    merged = dict(options)
    if not options.get("kwargs"):
        merged["kwargs"] = found.kwargs
    if not options.get("input_shapes") and not options.get("inputs"):
        merged["input_shapes"] = [s.to_dict() for s in found.input_shapes] or None
        merged["inputs"] = list(found.inputs)
        merged["keep"] = list(found.keep)
    return merged


def _expand(targets: List[Target], options: Dict[str, Any], timeout: float, workers: int, config: RuntimeSettings) -> Tuple[List[Target], List[Diagnostic], List[str]]:
    """Files without a name -> a target per buildable nn.Module class, module-level instance and factory."""
    whole = [t for t in targets if t.name is None]
    found = isolate.run_many([(t.label, _request(t, "discover", options)) for t in whole], timeout, workers)
    listed = dict(zip(whole, found))
    expanded: List[Target] = []
    problems: List[Diagnostic] = []
    notes: List[str] = []
    for target in targets:
        if target.name is not None:
            expanded.append(target)
            continue
        result = listed[target]
        if result.status != "ok":
            problems.extend(diagnostics.from_result(result, target))
            continue
        items = result.classes or []
        if not items:
            notes.append(f"{target.label}: no nn.Module class, module-level instance or factory defined here")
        for item in items:
            if item.get("kind", "class") == "class":
                why = _unbuildable(item, _configured(Target(path=target.path, name=item["name"]), options, config).get("kwargs") or {})
                if why:
                    notes.append(f"skipped {target.label}::{item['name']}: {why}")
                    continue
            expanded.append(Target(path=target.path, name=item["name"]))
    return expanded, problems, notes


def _unbuildable(item: Dict[str, Any], kwargs: Dict[str, Any]) -> Optional[str]:
    missing = [a for a in item["required"] if a not in kwargs]
    if missing:
        return f"needs constructor arguments: {', '.join(missing)} (name it as FILE::{item['name']} with --args)"
    unknown = [k for k in kwargs if k not in item["accepts"]] if not item["var_keyword"] else []
    return f"does not take {', '.join(unknown)}" if unknown else None


def _render(found: Sequence[Diagnostic], fmt: str) -> Tuple[str, str]:
    """(stdout text, stderr summary); falls back to concise lines if the reporters are missing."""
    try:
        from initlint import __version__
        from initlint.report import render, summary
    except ImportError:
        lines = [f"{d.path}:{d.location.row}:{d.location.column}: {d.code} {d.message}" for d in found]
        return "\n".join(lines), f"Found {len(found)} problem(s)." if found else "All checks passed!"
    sources = {}
    for path in {d.path for d in found}:
        try:
            with open(path, encoding="utf-8") as handle:
                sources[path] = handle.read()
        except OSError:
            pass
    return render(found, fmt, rules=codes.rules(), sources=sources, version=__version__), summary(found)


def run_targets(targets: List[Target], options: Dict[str, Any], timeout: float, workers: int,
                config: Optional[RuntimeSettings] = None, progress: Optional[Progress] = None) -> Tuple[List[Diagnostic], List[str]]:
    """Probe every target in its own worker; (diagnostics, stderr lines not already shown by `progress`)."""
    config = config or RuntimeSettings()
    expanded, found, notes = _expand(targets, options, timeout, workers, config)
    if not expanded and not found:
        raise UsageError("nothing to run: " + ("; ".join(notes) if notes else "no target"))
    jobs = [(t.label, _request(t, "probe", _configured(t, options, config))) for t in expanded]
    if progress is not None:
        progress.total = len(jobs)
    results = isolate.run_many(jobs, timeout, workers, progress=progress)
    for target, result in zip(expanded, results):
        found.extend(diagnostics.from_result(result, target))
        if progress is None:
            notes.append(diagnostics.summary_line(result))
    return sorted(found, key=Diagnostic.sort_key), notes


def _inputs(values: Sequence[str]) -> List[str]:
    """`--input` values, checked here: a .pt file must exist, an expression must parse."""
    for value in values:
        if value.endswith(".pt"):
            if not os.path.isfile(value):
                raise UsageError(f"--input {value!r}: no such file")
            continue
        try:
            compile(value, "<--input>", "eval")
        except SyntaxError as error:
            raise UsageError(f"--input {value!r} is neither a .pt file nor a Python expression: {error.msg}") from None
    return list(values)


@click.command("runtime")
@click.argument("targets", nargs=-1, required=True)
@click.option("--args", "args_json", metavar="JSON", help='Constructor keyword arguments, e.g. \'{"in_channels": 1}\'.')
@click.option("--input-shape", "input_shapes", multiple=True, metavar="SHAPE", help="An input's shape, e.g. 2,1,32,32, 4,16:long, 4,16:ids (token ids), 4,16:mask (all ones); repeat for several inputs. Default: inferred.")
@click.option("--input", "input_values", multiple=True, metavar="VALUE", help="An input used as given: a .pt file (a tensor, a tuple of inputs, or a dict of keyword inputs) or a Python expression such as 'torch.randn(4, 784)'; repeat for several.")
@click.option("--dtype", default="float32", show_default=True, help="dtype of the inputs given by --input-shape (long for token ids).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu", show_default=True)
@click.option("--steps", type=click.IntRange(min=3), default=3, show_default=True, help="SGD steps of the probe.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True, help="Seconds of each target's own code: importing its file, building, probing (importing torch is not counted).")
@click.option("--memory-limit", type=click.IntRange(min=64), default=None, metavar="MB", help="Address-space limit per worker (POSIX).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Targets run in parallel (default: up to 4 on CPU, 1 on GPU; never more than the cores).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="concise", show_default=True)
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A pyproject.toml whose [tool.initlint.runtime.targets] to read instead of the nearest one.")
@click.option("-q", "--quiet", is_flag=True, help="Print diagnostics only: no progress, no summary.")
def runtime_command(targets: Tuple[str, ...], args_json: Optional[str], input_shapes: Tuple[str, ...], input_values: Tuple[str, ...], dtype: str, device: str, steps: int, timeout: float, memory_limit: Optional[int], jobs: Optional[int], seed: int, fmt: str, config_path: Optional[Path], quiet: bool) -> None:
    """Build each TARGET, train a copy for a few SGD steps, and report units that stay identical,
    parameters that never learn, init routines that touched nothing, and tensors that are
    unregistered, shared by accident or never initialised.

    TARGET is path/to/model.py::Name (a class, a factory, or a module instance), package.module:Name,
    or path/to/model.py (every nn.Module class in it that needs no arguments, every module-level
    instance and every factory without arguments). Runs user code.
    """
    ctx = click.get_current_context()
    if not torch_available():
        click.echo(f"error: {INSTALL_HINT}", err=True)
        ctx.exit(2)
    try:
        parsed = [parse_target(t) for t in targets]
        kwargs = parse_args_json(args_json)
        specs: Optional[List[InputSpec]] = parse_shapes(input_shapes, parse_dtype(dtype))
        if specs and input_values:
            raise UsageError("give inputs either by --input-shape or by --input, not both")
        start = Path(parsed[0].path) if parsed[0].path else Path.cwd()
        config = settings.load(config_path, start)
        workers = isolate.worker_count(jobs, len(parsed), device)
        options = {
            "kwargs": kwargs, "device": device, "steps": steps, "seed": seed, "memory_limit_mb": memory_limit,
            "input_shapes": [s.to_dict() for s in specs] if specs else None, "inputs": _inputs(input_values),
            "threads": isolate.threads_per_worker(workers),
        }
        with Progress(enabled=not quiet, describe=lambda label, result, seconds: diagnostics.summary_line(result)) as progress:
            found, notes = run_targets(parsed, options, timeout, workers, config, progress)
    except UsageError as error:
        raise click.UsageError(str(error)) from None
    text, closing = _render(found, fmt)
    if text:
        click.echo(text)
    if not quiet:
        for note in notes:
            click.echo(note, err=True)
        click.echo(closing, err=True)
    ctx.exit(1 if found else 0)


if __name__ == "__main__":
    runtime_command(prog_name="python -m initlint.runtime.cli")
