"""Parsing what the user typed: targets, constructor arguments, input shapes (no torch, no imports of user code).

Everything here runs in the parent process, which never imports torch or the user's code; a
bad argument is a `UsageError` (exit code 2), raised before any worker starts.
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

# Names accepted for --dtype and for a shape's `:dtype` suffix, mapped to torch attribute names.
DTYPES = {
    "float": "float32", "float32": "float32", "float64": "float64", "double": "float64",
    "float16": "float16", "half": "float16", "bfloat16": "bfloat16", "bf16": "bfloat16",
    "long": "int64", "int64": "int64", "int": "int32", "int32": "int32", "int16": "int16",
    "int8": "int8", "uint8": "uint8", "bool": "bool",
}


class UsageError(Exception):
    """A mistake in the command line: reported as a message, exit code 2."""


@dataclass(frozen=True)
class Target:
    """A thing to probe: `path.py::Name`, `package.module:Name`, or `path.py` (name None: every class)."""

    path: Optional[str] = None  # a file (absolute)
    module: Optional[str] = None  # or a dotted module name
    name: Optional[str] = None  # class, factory, or module-level instance; dotted for nested classes

    @property
    def label(self) -> str:
        """How the user would write it."""
        where = os.path.relpath(self.path) if self.path else self.module
        if self.name is None:
            return str(where)
        return f"{where}::{self.name}" if self.path else f"{where}:{self.name}"

    def to_dict(self) -> Dict[str, Any]:
        """JSON-able form for the worker's request."""
        return {"path": self.path, "module": self.module, "name": self.name}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Target":
        """The inverse of `to_dict`."""
        return cls(data.get("path"), data.get("module"), data.get("name"))


# What a generated input stands for: data (random), token ids (random integers below the smallest
# embedding table) or a mask (all ones: attend to / keep everything; never random noise).
ROLES = ("data", "ids", "mask")


@dataclass(frozen=True)
class InputSpec:
    """One model input: its shape, dtype name (a key of DTYPES' values) and role (one of ROLES)."""

    shape: Tuple[int, ...]
    dtype: str = "float32"
    role: str = "data"

    def describe(self) -> str:
        """`2x1x32x32 float32`."""
        role = f" ({self.role})" if self.role != "data" else ""
        return "x".join(map(str, self.shape)) + f" {self.dtype}{role}"

    def to_dict(self) -> Dict[str, Any]:
        """JSON-able form for the worker's request."""
        return {"shape": list(self.shape), "dtype": self.dtype, "role": self.role}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "InputSpec":
        """The inverse of `to_dict`."""
        return cls(tuple(data["shape"]), data.get("dtype", "float32"), data.get("role", "data"))


def parse_target(text: str) -> Target:
    """`path.py::Name`, `path.py`, or `pkg.mod:Name`; files must exist."""
    if "::" in text:
        path, _, name = text.partition("::")
        return Target(path=_existing_file(path, text), name=_identifier(name, text))
    if text.endswith(".py") or os.path.sep in text or os.path.exists(text):
        return Target(path=_existing_file(text, text))
    if ":" in text:
        module, _, name = text.partition(":")
        if not all(part.isidentifier() for part in module.split(".")):
            raise UsageError(f"target {text!r}: {module!r} is not a dotted module name")
        return Target(module=module, name=_identifier(name, text))
    raise UsageError(f"target {text!r}: expected path/to/model.py::Name, path/to/model.py or package.module:Name")


def _existing_file(path: str, text: str) -> str:
    if not os.path.isfile(path):
        raise UsageError(f"target {text!r}: no such file: {path}")
    return os.path.abspath(path)


def _identifier(name: str, text: str) -> str:
    if not name or not all(part.isidentifier() for part in name.split(".")):
        raise UsageError(f"target {text!r}: {name!r} is not a (dotted) Python name")
    return name


def parse_args_json(text: Optional[str]) -> Dict[str, Any]:
    """`--args '{"in_channels": 1}'` -> keyword arguments."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise UsageError(f"--args is not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise UsageError("--args must be a JSON object of keyword arguments, e.g. '{\"in_channels\": 1}'")
    return value


def parse_dtype(name: str) -> str:
    """A dtype name (`long`, `float32`, ...) -> the torch attribute name."""
    try:
        return DTYPES[name.strip().lower()]
    except KeyError:
        raise UsageError(f"unknown dtype {name!r}; choose one of {', '.join(sorted(DTYPES))} (or ids, mask after a shape)") from None


def parse_shape(text: str, default_dtype: str = "float32") -> InputSpec:
    """`2,1,32,32` or `2x1x32x32`, optionally `:long`, `:ids` (token ids) or `:mask` (all ones) -> InputSpec."""
    shape_text, _, dtype_text = text.partition(":")
    suffix = dtype_text.strip().lower()
    role = suffix if suffix in ("ids", "mask") else "data"
    if role == "ids":
        dtype = "int64"
    elif role == "mask":
        dtype = parse_dtype(default_dtype)
    else:
        dtype = parse_dtype(dtype_text) if dtype_text else parse_dtype(default_dtype)
    parts = shape_text.replace("x", ",").split(",")
    try:
        shape = tuple(int(p) for p in parts)  # an empty part ("4,x", "4,,3") is a mistake, not a skip
    except ValueError:
        raise UsageError(f"--input-shape {text!r}: expected integers separated by commas, e.g. 2,1,32,32") from None
    if not shape or any(d < 0 for d in shape):
        raise UsageError(f"--input-shape {text!r}: expected non-negative integers, e.g. 2,1,32,32")
    return InputSpec(shape, dtype, role)


def parse_shapes(texts: Sequence[str], dtype: str = "float32") -> Optional[List[InputSpec]]:
    """Repeatable --input-shape -> specs, or None to infer them."""
    return [parse_shape(t, dtype) for t in texts] if texts else None


def class_line(path: str, qualname: str) -> Optional[Tuple[int, int]]:
    """(line, column) of a top-level or nested class/function `qualname` in a file, found with ast."""
    tree = parse_file(path)
    if tree is None:
        return None
    body: List[ast.stmt] = list(tree.body)
    node: Optional[ast.AST] = None
    for part in qualname.split("."):
        node = next((n for n in body if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and n.name == part), None)
        if node is None:
            return None
        body = list(node.body)
    return (node.lineno, node.col_offset + 1) if node is not None else None


def parse_file(path: str) -> Optional[ast.Module]:
    """The file's ast, or None when it cannot be read or parsed."""
    try:
        with open(path, encoding="utf-8") as handle:
            return ast.parse(handle.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None
