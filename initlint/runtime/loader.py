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
    untouched: Tuple[Finding, ...] = ()  # IL103 findings
    recorded: bool = False  # False for instances: construction happened before we saw them


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


def build(value: Any, kwargs: Optional[Dict[str, Any]] = None, label: Optional[str] = None) -> Built:
    """A module from a class, a factory or an instance; construction is recorded for IL103."""
    kwargs = dict(kwargs or {})
    if isinstance(value, nn.Module):
        return Built(value, label or type(value).__name__)
    if not callable(value):
        raise BuildError(f"{label or value!r} is a {type(value).__name__}, not an nn.Module, class or factory")
    label = label or getattr(value, "__qualname__", repr(value))
    if inspect.isclass(value) and not issubclass(value, nn.Module):
        raise BuildError(f"{label} is not an nn.Module subclass")
    missing = [name for name in required_arguments(value) if name not in kwargs]
    if missing:
        raise BuildError(f"{label} needs constructor arguments: {', '.join(missing)}")
    with Recorder() as recorder:
        made = value(**kwargs)
    model, examples = _unpack(made, label)
    routines, untouched = recorder.summarize(model, type(model).__name__)
    return Built(model, label, examples, routines, untouched, recorded=True)


def _unpack(made: Any, label: str) -> Tuple[nn.Module, Optional[Tuple[Any, ...]]]:
    """A factory's result: a module, or (module, example_inputs)."""
    if isinstance(made, nn.Module):
        return made, None
    if isinstance(made, (tuple, list)) and len(made) == 2 and isinstance(made[0], nn.Module):
        inputs = made[1]
        return made[0], tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    raise BuildError(f"{label} returned {type(made).__name__}; expected an nn.Module or (module, example_inputs)")
