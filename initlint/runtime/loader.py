"""Importing the user's code and building the module to probe (runs in the worker, or in-process for the API).

A target names a class (built with the JSON keyword arguments), a factory function (returning a
module, or a module and example inputs), or a module-level variable holding a module instance.
Construction runs under a `Recorder`, so IL103 can tell which init routines reached nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Dict, List, Optional, Tuple

from torch import nn

from initlint.runtime.canary import Canary, untouched
from initlint.runtime.recorder import Recorder
from initlint.runtime.results import Finding, InitRoutine
from initlint.runtime.spec import Target


class BuildError(Exception):
    """The target is not something that can be built without more information (the message says what)."""


@dataclass
class Built:
    """A constructed module, with what was learnt while constructing it."""

    model: nn.Module
    label: str  # the class (or factory) name used in messages
    examples: Optional[Tuple[Any, ...]] = None  # example inputs a factory returned
    routines: Tuple[InitRoutine, ...] = ()
    construction: Tuple[Finding, ...] = ()  # IL103 and IL107: what watching the construction proved
    recorded: bool = False  # False for instances: construction happened before we saw them
    example_kwargs: Optional[Dict[str, Any]] = None  # keyword inputs of forward, when known


def import_module(target: Target) -> ModuleType:
    """Import the target's module: by dotted name, or from its file (package-aware)."""
    if target.module is not None:
        if "" not in sys.path and os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        return importlib.import_module(target.module)
    assert target.path is not None
    path = os.path.abspath(target.path)
    directory, stem = os.path.dirname(path), os.path.splitext(os.path.basename(path))[0]
    parts = [stem]
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        parts.insert(0, os.path.basename(directory))
        directory = os.path.dirname(directory)
    sys.path.insert(0, directory)  # sibling imports work as they do when the user runs the file
    if len(parts) > 1:
        return importlib.import_module(".".join(parts))
    name = stem
    if name in sys.modules or name in getattr(sys, "stdlib_module_names", ()) or not name.isidentifier():
        name = f"__initlint_target_{abs(hash(path))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BuildError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def import_partially(target: Target) -> Tuple[Optional[ModuleType], Optional[BaseException]]:
    """Import the target's file, keeping what it defined before an error: (module, the error or None).

    A file whose module-level code raises at line 80 still defines the classes above it; the
    ways of building them that need no more than those definitions can still run.
    """
    if target.module is not None or target.path is None:
        try:
            return import_module(target), None
        except (Exception, SystemExit) as error:
            return None, error
    before = set(sys.modules)
    try:
        return import_module(target), None
    except (Exception, SystemExit) as error:  # sys.exit() at module level: what ran before is still there
        added = [name for name in sys.modules if name not in before]
        path = os.path.abspath(target.path)
        module = next((sys.modules[n] for n in added if os.path.abspath(getattr(sys.modules[n], "__file__", "") or "") == path), None)
        return module, error


def resolve(module: ModuleType, name: str) -> Any:
    """`Name` or `Outer.Inner` in the module."""
    value: Any = module
    for part in name.split("."):
        if not hasattr(value, part):
            where = getattr(module, "__file__", module.__name__)
            raise BuildError(f"{where} has no {name!r}")
        value = getattr(value, part)
    return value


def discover(module: ModuleType) -> List[Dict[str, Any]]:
    """The nn.Module subclasses defined in the module: name, line, and required constructor arguments."""
    found = []
    for name, value in vars(module).items():
        if inspect.isclass(value) and issubclass(value, nn.Module) and value.__module__ == module.__name__:
            found.append({"name": name, "line": location(value)[1], "required": required_arguments(value)})
    return sorted(found, key=lambda item: item["line"] or 0)


def discover_instances(module: ModuleType) -> List[Dict[str, Any]]:
    """Module-level nn.Module instances (a layer of another listed instance, or a second name for one, is left out)."""
    values = [(name, value) for name, value in vars(module).items() if isinstance(value, nn.Module) and not name.startswith("__")]
    inner = {id(sub) for _, value in values for sub in list(value.modules())[1:]}
    found, seen = [], set()
    for name, value in values:
        if id(value) in inner or id(value) in seen:
            continue
        seen.add(id(value))
        found.append({"name": name, "line": location(value)[1], "kind": "instance", "class": type(value).__name__})
    return found


def discover_factories(module: ModuleType) -> List[Dict[str, Any]]:
    """Functions of the module that take no required argument and return a module (or module and inputs).

    Judged from the source, never by calling: a `return` of a construction of an nn.Module class
    (or of a name assigned one), or a return annotation naming an nn.Module class. `main()` or
    `train()` are never run to find out."""
    found = []
    for name, value in vars(module).items():
        if not inspect.isfunction(value) or value.__module__ != module.__name__ or required_arguments(value):
            continue
        if _returns_module(value, module):
            found.append({"name": name, "line": location(value)[1], "kind": "factory"})
    return found


def _returns_module(function: Any, module: ModuleType) -> bool:
    import ast
    import textwrap

    annotation = inspect.signature(function).return_annotation
    if inspect.isclass(annotation) and issubclass(annotation, nn.Module):
        return True
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return False
    made = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    made[target.id] = node.value
    for node in ast.walk(tree):
        if not isinstance(node, ast.Return) or node.value is None:
            continue
        value = node.value.elts[0] if isinstance(node.value, ast.Tuple) and node.value.elts else node.value
        call = made.get(value.id) if isinstance(value, ast.Name) else value
        while isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Call):
            call = call.func.value  # Net().to(device), Net().eval()
        if isinstance(call, ast.Call) and _is_module_class(call.func, module):
            return True
    return False


def _is_module_class(func: Any, module: ModuleType) -> bool:
    """Whether a called expression (`Net`, `nn.Sequential`, `models.Net`) names an nn.Module class."""
    import ast

    parts = []
    while isinstance(func, ast.Attribute):
        parts.insert(0, func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return False
    value: Any = vars(module).get(func.id)
    for part in parts:
        value = getattr(value, part, None)
    return inspect.isclass(value) and issubclass(value, nn.Module)


def required_arguments(callable_: Any) -> List[str]:
    """Parameters without defaults (other than self, *args and **kwargs)."""
    try:
        signature = inspect.signature(callable_)
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in signature.parameters.values() if p.kind in kinds and p.default is inspect.Parameter.empty]


def location(value: Any) -> Tuple[Optional[str], Optional[int]]:
    """(file, line) of a class or function definition, or of an instance's class."""
    if not (inspect.isclass(value) or inspect.isfunction(value)):
        value = type(value)
    try:
        return inspect.getsourcefile(value), inspect.getsourcelines(value)[1]
    except (TypeError, OSError):
        return None, None


def build(value: Any, kwargs: Optional[Dict[str, Any]] = None, label: Optional[str] = None, args: Tuple[Any, ...] = ()) -> Built:
    """A module from a class, a factory or an instance; construction is watched for IL103 and IL107."""
    kwargs = dict(kwargs or {})
    if isinstance(value, nn.Module):
        return Built(value, label or type(value).__name__)
    if not callable(value):
        raise BuildError(f"{label or value!r} is a {type(value).__name__}, not an nn.Module, class or factory")
    label = label or getattr(value, "__qualname__", repr(value))
    if inspect.isclass(value) and not issubclass(value, nn.Module):
        raise BuildError(f"{label} is not an nn.Module subclass")
    missing = [name for name in required_arguments(value)[len(args):] if name not in kwargs]
    if missing:
        raise BuildError(f"{label} needs constructor arguments: {', '.join(missing)}")
    with Canary(), Recorder() as recorder:
        made = value(*args, **kwargs)
    model, examples = _unpack(made, label)
    return watched(model, label, recorder, examples)


def watched(model: nn.Module, label: str, recorder: Recorder, examples: Optional[Tuple[Any, ...]] = None) -> Built:
    """A module whose construction ran under `recorder` and the canary: its IL103 and IL107 findings."""
    name = type(model).__name__
    routines, found = recorder.summarize(model, name)
    return Built(model, label, examples, routines, found + untouched(model, name), recorded=True)


def _unpack(made: Any, label: str) -> Tuple[nn.Module, Optional[Tuple[Any, ...]]]:
    """A factory's result: a module, or (module, example_inputs)."""
    if isinstance(made, nn.Module):
        return made, None
    if isinstance(made, (tuple, list)) and len(made) == 2 and isinstance(made[0], nn.Module):
        inputs = made[1]
        if inputs is None:
            return made[0], None
        return made[0], tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    raise BuildError(f"{label} returned {type(made).__name__}; expected an nn.Module or (module, example_inputs)")
