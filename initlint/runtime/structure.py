"""Facts about a built module's tree, not its numbers: IL106 (one module object repeated inside a
container) and the names IL105 gives to tensors that reach the loss without being parameters.

Sharing is judged by where the object sits, as the code wrote it: a module with parameters that
fills two or more slots of one ModuleList, Sequential or ModuleDict (`nn.ModuleList([Block()] * n)`,
the same object appended in a loop) is one layer repeated. A Parameter or module shared under
different attribute names (`self.head.weight = self.embed.weight`, `self.dec = self.enc`) was
shared by name, on purpose, and is not reported.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch
from torch import nn

from initlint.runtime.results import Finding, shared_finding

_CONTAINERS = (nn.ModuleList, nn.Sequential, nn.ModuleDict)
_PARAMETER_CONTAINERS = (nn.ParameterList, nn.ParameterDict)
_DEPTH = 3  # how deep plain lists/dicts are searched for tensors


def shared_modules(model: nn.Module) -> Tuple[Finding, ...]:
    """IL106 for every module (or parameter) that fills several slots of one container."""
    findings: List[Finding] = []
    for parent_name, parent in model.named_modules():
        if isinstance(parent, _CONTAINERS):
            slots = [(name, child) for name, child in parent._modules.items() if child is not None]
        elif isinstance(parent, _PARAMETER_CONTAINERS):
            slots = [(name, p) for name, p in parent._parameters.items() if p is not None]
        else:
            continue
        seen: Dict[int, List[str]] = {}
        objects: Dict[int, Any] = {}
        for name, value in slots:
            seen.setdefault(id(value), []).append(f"{parent_name}.{name}" if parent_name else name)
            objects[id(value)] = value
        for key, places in seen.items():
            value = objects[key]
            params = [value] if isinstance(value, nn.Parameter) else list(value.parameters())
            if len(places) > 1 and params:
                kind = type(value).__name__
                findings.append(shared_finding(tuple(places), kind, len(params), sum(p.numel() for p in params)))
    return tuple(findings)


def _internal_keys() -> frozenset:
    return frozenset(vars(nn.Module()))


_INTERNAL: Optional[frozenset] = None


def _plain(value: Any, prefix: str, depth: int) -> Iterator[Tuple[str, Any]]:
    """(path, tensor or module) inside plain lists, tuples and dicts held by an attribute."""
    if depth > _DEPTH:
        return
    if isinstance(value, (torch.Tensor, nn.Module)):
        yield prefix, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _plain(item, f"{prefix}[{i}]", depth + 1)
    elif isinstance(value, dict):
        for key, item in list(value.items())[:256]:
            yield from _plain(item, f"{prefix}[{key!r}]", depth + 1)


Place = Tuple[str, str, str]  # (where the tensor is, how it is held, the attribute that holds it)


def holders(model: nn.Module) -> Dict[int, Place]:
    """id(tensor) -> where the module holds it outside its registered parameters."""
    global _INTERNAL
    if _INTERNAL is None:
        _INTERNAL = _internal_keys()
    found: Dict[int, Place] = {}
    for module_name, module in model.named_modules():
        dot = f"{module_name}." if module_name else ""
        for name, buffer in module._buffers.items():
            if buffer is not None:
                where = f"{dot}{name}"
                found.setdefault(id(buffer), (where, "a buffer: register_buffer does not make it a parameter", where))
        for name, value in vars(module).items():
            if name in _INTERNAL:
                continue
            attribute = f"{dot}{name}"
            for path, item in _plain(value, attribute, 0):
                if isinstance(item, nn.Module):
                    how = "module(s) kept in a plain Python container: use nn.ModuleList / nn.ModuleDict"
                    for pname, p in item.named_parameters():
                        found.setdefault(id(p), (f"{path}.{pname}", how, attribute))
                elif path == attribute:
                    found.setdefault(id(item), (path, "a plain tensor attribute: wrap it in nn.Parameter", attribute))
                else:
                    how = "tensor(s) kept in a plain Python container: use nn.ParameterList / nn.ParameterDict"
                    found.setdefault(id(item), (path, how, attribute))
    return found


def describe_leaf(model: nn.Module, tensor: torch.Tensor, held: Dict[int, Place]) -> Place:
    """Where one unregistered leaf is: a place in the module, a global of its file, or unknown."""
    if id(tensor) in held:
        return held[id(tensor)]
    module = sys.modules.get(type(model).__module__)
    for name, value in vars(module).items() if module is not None else ():
        if value is tensor:
            return name, f"a global of {getattr(module, '__name__', 'its module')}, not held by the module", name
    return "a tensor", "not held by the module: a global or closure variable?", "a tensor"
