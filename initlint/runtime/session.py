"""The worker's side of `--runtime`: run the ways a file builds its modules, watching the flagged lines.

The parent (`confirm`, through `recipes`) sends one request per file: the rows of each site, and
the recipes to try in order. Here the file is imported once, with the line watcher and the canary
on (module-level instances are built then), and each recipe is run in turn:

* `instance`: a module-level variable, as the file's code left it (`net = Net(); net.apply(f)`);
* `build`: a class called with literal arguments (from a call site, the defaults, the branch
  `__init__` takes to the site, or the configuration), watched by the IL103 recorder;
* `call`: a factory function without arguments;
* `run`: a test function or the `if __name__ == "__main__":` block, run until the first forward
  call of a module (the model is then as training would find it; the call's arguments are kept
  as example inputs); a `sys.argv` of just the file, so that argparse takes its defaults.

A recipe is skipped when every site it is for was already reached and measured. After each one
the result file is rewritten (`progress` counts them: the parent restarts its timeout clock on
it), so a recipe that crashes or hangs the worker loses only itself: the parent runs the rest in a
new worker.
"""

from __future__ import annotations

import ast
import copy
import os
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import nn

from initlint.runtime import api, loader
from initlint.runtime.canary import Canary, untouched
from initlint.runtime.fileindex import is_main
from initlint.runtime.recorder import Recorder, preinstall
from initlint.runtime.spec import InputSpec, Target
from initlint.runtime.watch import Runs, Watcher


class FirstForward(BaseException):
    """Stops a `run` recipe at its first forward call (a BaseException: `except Exception` in the
    user's code must not swallow it)."""


class RecipeError(Exception):
    """A recipe that cannot produce a module (the message says why)."""


def run(channel: Any, request: Dict[str, Any], describe_error: Callable[[BaseException], str]) -> None:
    """Run every recipe of the request, reporting after each one."""
    target = Target.from_dict(request["target"])
    sites: Dict[str, Tuple[int, ...]] = {k: tuple(v) for k, v in request["sites"].items()}
    needs_probe: Dict[str, bool] = request.get("needs_probe", {})
    preinstall()  # before the file binds `from torch.nn.init import normal_`
    watcher = Watcher(target.path or "", {row for rows in sites.values() for row in rows})
    channel.phase("importing")
    with Canary():
        watcher.resume()
        try:
            module, error = loader.import_partially(target)
        finally:
            watcher.pause()
    at_import = watcher.take()
    import_error = describe_error(error) if error is not None else None
    results: Dict[str, Any] = {}
    satisfied = set(request.get("satisfied") or ())  # reached and measured by an earlier worker
    channel.update(import_error=import_error, recipes=results)
    for index, recipe in enumerate(request["recipes"]):
        if all(site in satisfied for site in recipe["sites"]):
            results[recipe["id"]] = {"status": "skipped"}
        else:
            channel.update(current=recipe["id"], phase=f"running {recipe['label']}")
            started = time.monotonic()
            context = _Context(module, watcher, at_import, import_error, sites, needs_probe, request, describe_error, channel)
            outcome = context.run(recipe)
            outcome["seconds"] = round(time.monotonic() - started, 3)
            results[recipe["id"]] = outcome
            satisfied.update(outcome.get("measured", ()))
        channel.update(recipes=results, progress=index + 1, current=None)
    channel.update(status="ok", phase="done")


class _Context:
    """One recipe's run: build, see which sites it reached, probe when a reached site needs it."""

    def __init__(self, module: Any, watcher: Watcher, at_import: Runs, import_error: Optional[str], sites: Dict[str, Tuple[int, ...]],
                 needs_probe: Dict[str, bool], request: Dict[str, Any], describe_error: Callable[[BaseException], str], channel: Any) -> None:
        self.module = module
        self.watcher = watcher
        self.at_import = at_import
        self.import_error = import_error
        self.sites = sites
        self.needs_probe = needs_probe
        self.request = request
        self.describe_error = describe_error
        self.channel = channel

    def run(self, recipe: Dict[str, Any]) -> Dict[str, Any]:
        mine = {site: self.sites[site] for site in recipe["sites"] if site in self.sites}
        if self.module is None:
            return {"status": "error", "error": f"the file could not be imported: {self.import_error}", "hits": {}}
        try:
            made = self._make(recipe)
        except RecipeError as error:
            return {"status": "error", "error": str(error), "hits": self._hits(self.watcher.take(), mine, None), "ran": {}}
        except BaseException as error:  # the user's code raised (or exited) while building
            runs = self.watcher.take()
            return {"status": "error", "error": self.describe_error(error), "hits": self._hits(runs, mine, None),
                    "ran": {site: runs.ran(rows) for site, rows in mine.items()}}
        hits = self._hits(made.runs, mine, made.subject)
        outcome: Dict[str, Any] = {
            "status": "ok", "model": type(made.built.model).__name__, "instance": made.instance, "hits": hits,
            "ran": {site: made.runs.ran(rows) for site, rows in mine.items()}, "raised": made.raised,
        }
        probe = any(hits.get(site) and self.needs_probe.get(site, True) for site in mine)
        report, probe_error = self._probe(made, recipe) if probe else (api.construction_report(made.built, ""), None)
        outcome["report"] = report.to_dict()
        outcome["probe_error"] = probe_error
        outcome["measured"] = [site for site, hit in hits.items() if hit and (probe_error is None or not self.needs_probe.get(site, True))]
        return outcome

    @staticmethod
    def _hits(runs: Runs, mine: Dict[str, Tuple[int, ...]], model: Optional[nn.Module]) -> Dict[str, bool]:
        return {site: runs.reached(rows, model) for site, rows in mine.items()}

    # --- making the module -------------------------------------------------------------------

    def _resolve(self, name: str) -> Any:
        """A name of the file; when the file stopped importing before defining it, that is the reason given."""
        try:
            return loader.resolve(self.module, name)
        except loader.BuildError:
            if self.import_error:
                raise RecipeError(f"{name} is not defined: importing the file stopped early ({self.import_error})") from None
            raise

    def _make(self, recipe: Dict[str, Any]) -> "_Made":
        kind = recipe["kind"]
        if kind == "instance":
            return self._instance(recipe)
        if kind in ("build", "call"):
            value = self._resolve(recipe["name"])
            args = tuple(ast.literal_eval(a) for a in recipe.get("args", ()))
            kwargs = {k: ast.literal_eval(v) for k, v in recipe.get("kwargs", ())}
            self.channel.phase(f"building {recipe['label']}")
            self.watcher.resume()
            try:
                built = loader.build(value, kwargs, recipe["label"], args)
            finally:
                self.watcher.pause()
            return _Made(built, self.watcher.take())
        if kind == "run":
            return self._run(recipe)
        raise RecipeError(f"unknown recipe kind {kind!r}")

    def _instance(self, recipe: Dict[str, Any]) -> "_Made":
        rows = [row for site in recipe["sites"] for row in self.sites.get(site, ())]
        found = [(n, getattr(self.module, n, None)) for n in recipe["candidates"]]
        modules = [(n, v) for n, v in found if isinstance(v, nn.Module)]
        if not modules:
            held = ", ".join(f"{n} is {type(v).__name__}" for n, v in found if v is not None) or "none of them is defined"
            after = f" (importing stopped early: {self.import_error})" if self.import_error else ""
            raise RecipeError(f"no nn.Module instance in {', '.join(recipe['candidates'])} after the file ran: {held}{after}")
        name, value = next(((n, v) for n, v in modules if self.at_import.reached(rows, v)), modules[0])
        built = loader.Built(copy.deepcopy(value), type(value).__name__, construction=untouched(value, type(value).__name__))
        return _Made(built, self.at_import, instance=name, subject=value)  # the runs belong to the original

    def _run(self, recipe: Dict[str, Any]) -> "_Made":
        name = recipe["name"]
        wanted = self._resolve(recipe["capture"]) if recipe.get("capture") else None
        code, call = self._code(name)
        before = dict(vars(self.module))
        records: Dict[int, Tuple[nn.Module, Recorder]] = {}
        restore = _watch_init(wanted, records) if isinstance(wanted, type) else (lambda: None)
        first: List[Tuple[nn.Module, Tuple[Any, ...]]] = []
        handle = torch.nn.modules.module.register_module_forward_pre_hook(_stopper(first))
        argv, sys.argv = sys.argv, [self.module.__file__ or "model.py"]  # argparse takes its defaults
        raised = None
        self.channel.phase(f"running {recipe['label']}")
        self.watcher.capture(code)
        self.watcher.resume()
        try:
            with Canary():
                call()
        except FirstForward:
            pass
        except BaseException as error:  # what ran before the error may have built the model
            raised = self.describe_error(error)
        finally:
            self.watcher.pause()
            handle.remove()
            restore()
            sys.argv = argv
        runs = self.watcher.take()
        local = self.watcher.captured if name else {k: v for k, v in vars(self.module).items() if before.get(k) is not v}
        model, instance = self._choose(local or {}, first, wanted, recipe, runs)
        if model is None:
            why = f"; {raised}" if raised else ""
            raise RecipeError(f"{recipe['label']} built no nn.Module{' ' + wanted.__name__ if wanted is not None else ''} that could be probed{why}")
        if id(model) in records:
            built = loader.watched(model, recipe["label"], records[id(model)][1])
        else:
            built = loader.Built(model, recipe["label"], construction=untouched(model, type(model).__name__))
        examples = next((tuple(args) for m, args in first if m is model), None)
        built.examples = examples or None
        return _Made(built, runs, instance=instance, raised=raised)

    def _code(self, name: str) -> Tuple[Any, Callable[[], Any]]:
        """(code object to capture the locals of, a call that runs it): a function, or the main block."""
        if name:
            function = self._resolve(name)
            if not callable(function) or not hasattr(function, "__code__"):
                raise RecipeError(f"{name} is not a function")
            return function.__code__, function
        path = self.module.__file__
        tree = ast.parse(open(path, encoding="utf-8").read(), filename=path)
        block = next((n for n in tree.body if is_main(n)), None)
        if block is None:
            raise RecipeError("the file has no `if __name__ == \"__main__\":` block")
        compiled = compile(ast.Module(body=block.body, type_ignores=[]), path, "exec")
        return None, lambda: exec(compiled, vars(self.module))

    def _choose(self, local: Dict[str, Any], first: List[Tuple[nn.Module, Tuple[Any, ...]]], wanted: Any, recipe: Dict[str, Any], runs: Runs) -> Tuple[Optional[nn.Module], Optional[str]]:
        """The module a run built: of the wanted class, reaching the sites, named on the flagged line, first called."""
        rows = [row for site in recipe["sites"] for row in self.sites.get(site, ())]
        named = [(n, v) for n, v in local.items() if isinstance(v, nn.Module)]
        named += [(None, m) for m, _ in first if all(m is not v for _, v in named)]
        if isinstance(wanted, type):
            named = [(n, v) for n, v in named if isinstance(v, wanted)]
        # Roots only: a layer held by another candidate is part of that one.
        inner = {id(sub) for _, v in named for sub in list(v.modules())[1:]}
        named = [(n, v) for n, v in named if id(v) not in inner]
        wanted_names = recipe.get("candidates") or ()  # the names on the flagged line of a main block
        ranked = sorted(named, key=lambda item: (
            not runs.reached(rows, item[1]), item[0] not in wanted_names, all(m is not item[1] for m, _ in first),
        ))
        return ranked[0][1] if ranked else None, ranked[0][0] if ranked else None

    # --- probing -------------------------------------------------------------------------------

    def _probe(self, made: "_Made", recipe: Dict[str, Any]) -> Tuple[Any, Optional[str]]:
        request = self.request
        options = recipe.get("inputs") or {}
        specs = [InputSpec.from_dict(s) for s in options.get("input_shapes") or []]
        examples: Tuple[Any, ...] = ()
        forward_kwargs: Dict[str, Any] = {}
        try:
            if options.get("values"):
                examples, forward_kwargs = evaluate_inputs(options["values"], self.module)
            if specs or examples or forward_kwargs:
                made.built.examples = None
            self.channel.phase(f"probing {recipe['label']}")
            report = api.probe_built(
                made.built, *examples, steps=request.get("steps", 3), device=request.get("device", "cpu"),
                seed=request.get("seed", 0), input_shapes=specs or None, on_phase=None,
                randomize_inputs=not examples, input_kwargs=forward_kwargs or None, keep=tuple(options.get("keep") or ()),
            )
            return report, None
        except BaseException as error:  # forward raised, no input shape, no forward at all
            text = self.describe_error(error)
            return api.construction_report(made.built, text), text


class _Made:
    """A module a recipe produced, and the watched lines that ran while it was made."""

    def __init__(self, built: loader.Built, runs: Runs, instance: Optional[str] = None, raised: Optional[str] = None,
                 subject: Optional[nn.Module] = None) -> None:
        self.built = built
        self.runs = runs
        self.instance = instance
        self.raised = raised
        self.subject = subject if subject is not None else built.model  # the object the runs were recorded for


def _stopper(first: List[Tuple[nn.Module, Tuple[Any, ...]]]) -> Callable[..., None]:
    """A global forward pre-hook: the first call of a module built and complete stops the run."""

    def hook(module: nn.Module, args: Tuple[Any, ...]) -> None:
        frame = sys._getframe(1)
        while frame is not None:  # a forward made inside some __init__ (measuring a shape) is part of building
            if frame.f_code.co_name == "__init__" and isinstance(frame.f_locals.get("self"), nn.Module):
                return
            frame = frame.f_back
        first.append((module, tuple(args)))
        raise FirstForward()

    return hook


def _watch_init(cls: type, records: Dict[int, Tuple[nn.Module, Recorder]]) -> Callable[[], None]:
    """Record each outermost construction of `cls` for IL103; returns the function that undoes it."""
    own = cls.__dict__.get("__init__")
    original = cls.__init__
    depth = [0]

    def init(self: nn.Module, *args: Any, **kwargs: Any) -> None:
        if depth[0]:
            return original(self, *args, **kwargs)
        depth[0] += 1
        try:
            with Recorder() as recorder:
                original(self, *args, **kwargs)
        finally:
            depth[0] -= 1
        records[id(self)] = (self, recorder)

    cls.__init__ = init  # type: ignore[misc]

    def restore() -> None:
        if own is None:
            del cls.__init__
        else:
            cls.__init__ = own  # type: ignore[misc]

    return restore


def evaluate_inputs(values: Sequence[str], module: Any) -> Tuple[Tuple[Any, ...], Dict[str, Any]]:
    """`--input` values: a .pt file (a tensor, a tuple/list of inputs, or a dict of keyword inputs)
    or a Python expression evaluated with torch and the target file's names in scope."""
    positional: List[Any] = []
    keywords: Dict[str, Any] = {}
    scope = dict(vars(module)) if module is not None else {}
    scope.update(torch=torch, nn=nn)
    for value in values:
        if value.endswith(".pt") and os.path.isfile(value):
            loaded = torch.load(value, weights_only=True, map_location="cpu")
        else:
            loaded = eval(compile(value, "<--input>", "eval"), scope)  # the user's own command line
        if isinstance(loaded, dict):
            keywords.update(loaded)
        elif isinstance(loaded, (tuple, list)) and value.endswith(".pt"):
            positional.extend(loaded)
        else:
            positional.append(loaded)
    return tuple(positional), keywords
