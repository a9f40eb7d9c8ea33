"""`[tool.initlint.runtime.targets]`: how to build and feed a class, for `initlint runtime` and `--runtime`.

```toml
[tool.initlint.runtime.targets.LeNet]              # a class name, in any file
args = { in_channels = 1 }                         # constructor keyword arguments
input-shapes = ["4,1,32,32"]                       # as --input-shape: "4,16:long", "4,16:ids", "4,16:mask"
dtype = "float32"                                  # of the shapes without a suffix

[tool.initlint.runtime.targets."models/bert.py::Encoder"]   # one file's class (path from the config's folder)
inputs = ["torch.randint(0, 100, (2, 16))", "torch.ones(2, 16, dtype=torch.bool)"]  # used as given
masks = [1]                                        # positions of inputs that are masks: never random
ids = [0]                                          # positions that are token ids: never random
```

The file is read through `initlint.config.runtime_table`; mistakes are `UsageError`s (exit 2).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from initlint.runtime.spec import InputSpec, UsageError, parse_dtype, parse_shape

_KEYS = {"args", "input-shapes", "dtype", "inputs", "masks", "ids", "keep"}


@dataclass(frozen=True)
class TargetOptions:
    """How to build one class and what to feed it."""

    args: Tuple[Tuple[str, Any], ...] = ()
    input_shapes: Tuple[InputSpec, ...] = ()
    inputs: Tuple[str, ...] = ()  # Python expressions (or .pt files), used as given
    keep: Tuple[int, ...] = ()  # positions of example inputs whose values are kept
    source: str = ""  # where it was configured, for messages

    @property
    def kwargs(self) -> Dict[str, Any]:
        """The constructor arguments as a dict."""
        return dict(self.args)

    def inputs_request(self) -> Dict[str, Any]:
        """The worker's `inputs` option."""
        return {"input_shapes": [s.to_dict() for s in self.input_shapes], "values": list(self.inputs), "keep": list(self.keep)}


@dataclass(frozen=True)
class RuntimeSettings:
    """Every configured target, by key (`Name` or `path.py::Name`, path relative to `root`)."""

    targets: Dict[str, TargetOptions] = field(default_factory=dict)
    root: str = ""

    def for_class(self, path: str, qualname: str) -> Optional[TargetOptions]:
        """The options for class `qualname` of the file at `path`: a `path::Name` key wins over `Name`."""
        real = os.path.realpath(path)
        for key, options in self.targets.items():
            where, sep, name = key.rpartition("::")
            if sep and name == qualname and os.path.realpath(os.path.join(self.root, where)) == real:
                return options
        return self.targets.get(qualname) or self.targets.get(qualname.rsplit(".", 1)[-1])


def load(config: Optional[Path], start: Path) -> RuntimeSettings:
    """The runtime settings from the configuration file (explicit, or the nearest one)."""
    from initlint.config import ConfigError, runtime_table

    try:
        table, path = runtime_table(config, start)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    return parse(table, str(path) if path else "the configuration", str(path.parent) if path else os.getcwd())


def parse(table: Dict[str, Any], where: str, root: str) -> RuntimeSettings:
    """Validate a `[tool.initlint.runtime]` table."""
    unknown = sorted(set(table) - {"targets"})
    if unknown:
        raise UsageError(f"{where}: unknown key(s) in [tool.initlint.runtime]: {', '.join(unknown)} (known: targets)")
    targets = table.get("targets", {})
    if not isinstance(targets, dict):
        raise UsageError(f"{where}: [tool.initlint.runtime.targets] must be a table of class names")
    parsed = {}
    for key, entry in targets.items():
        if not isinstance(entry, dict):
            raise UsageError(f"{where}: [tool.initlint.runtime.targets.{key!r}] must be a table (args, input-shapes, dtype, inputs, masks, ids, keep)")
        parsed[key] = _options(entry, f"{where}: [tool.initlint.runtime.targets.{key!r}]")
    return RuntimeSettings(parsed, root)


def _options(entry: Dict[str, Any], where: str) -> TargetOptions:
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")
    args = entry.get("args", {})
    if not isinstance(args, dict):
        raise UsageError(f"{where}: `args` must be a table of keyword arguments, e.g. args = {{ in_channels = 1 }}")
    dtype = entry.get("dtype", "float32")
    if not isinstance(dtype, str):
        raise UsageError(f"{where}: `dtype` must be a string such as \"float32\" or \"long\"")
    shapes = _strings(entry.get("input-shapes", []), "input-shapes", where)
    inputs = _strings(entry.get("inputs", []), "inputs", where)
    try:
        specs = [parse_shape(text, parse_dtype(dtype)) for text in shapes]
    except UsageError as error:
        raise UsageError(f"{where}: {error}") from None
    positions = {name: _positions(entry.get(name, []), name, where) for name in ("masks", "ids", "keep")}
    count = len(specs) or len(inputs) or None
    for name, values in positions.items():
        if count is not None and any(p >= count for p in values):
            raise UsageError(f"{where}: `{name}` names input {max(values)}, but there are {count} input(s) (positions start at 0)")
    for index in positions["masks"]:
        if index < len(specs):
            specs[index] = replace(specs[index], role="mask")
    for index in positions["ids"]:
        if index < len(specs):
            specs[index] = replace(specs[index], role="ids", dtype="int64" if specs[index].dtype.startswith("float") else specs[index].dtype)
    keep = tuple(sorted(set(positions["masks"]) | set(positions["ids"]) | set(positions["keep"])))
    return TargetOptions(tuple(sorted(args.items())), tuple(specs), tuple(inputs), keep, where)


def _strings(value: Any, name: str, where: str) -> List[str]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise UsageError(f"{where}: `{name}` must be a list of strings")


def _positions(value: Any, name: str, where: str) -> Tuple[int, ...]:
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        return tuple(value)
    raise UsageError(f"{where}: `{name}` must be a list of input positions (0, 1, ...)")
