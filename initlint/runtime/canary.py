"""IL107: parameters that keep the untouched memory of `torch.empty` / `torch.Tensor(n, m)`.

While a module is built (and, in the worker, while the file's own code runs), every allocation
that leaves memory uninitialised is filled with a canary: a NaN whose payload no arithmetic
produces. `torch.empty`, `empty_like`, `empty_strided`, `Tensor.new_empty`, `Tensor.new(n, m)`,
`torch.Tensor(n, m)` and the legacy `torch.FloatTensor(n, m)` family are covered. Any write at all
replaces the canary: `nn.init.*`, in-place methods, indexing, `out=` arguments, `copy_`,
`load_state_dict`, C++ kernels. A parameter whose every entry still holds the canary after
construction was reached by no write: that is IL107, whatever path the writes would have taken
(tracking the writes themselves would miss `out=` and C++ paths).

Scaling untouched memory (`torch.empty(n).mul_(0.1)`) keeps the payload on the usual hardware,
and is reported too: scaled garbage is garbage. The canary replaces bytes the code must not read
anyway; a model that does read them sees NaN, which the probe reports as a non-finite output.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch import nn

from initlint.runtime.results import Finding, uninitialised_finding

# dtype -> (integer dtype of the same width, the NaN bit pattern written through it)
_PATTERNS: Dict[torch.dtype, Tuple[torch.dtype, int]] = {
    torch.float32: (torch.int32, 0x7FC1DEAD),
    torch.float64: (torch.int64, 0x7FF8DEADC0DE1EAD),
    torch.float16: (torch.int16, 0x7E5A),
    torch.bfloat16: (torch.int16, 0x7FDA),
}
_LEGACY = ("FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor")
# Writing the canary commits the memory: a preallocated buffer of gigabytes that the code never
# writes would then be paid for in full. Larger allocations are left alone (and not checked).
LARGEST = 1 << 28

_active = 0
_saved: Dict[Tuple[Any, str], Any] = {}
_origin: Dict[int, str] = {}  # storage address -> the allocator that made it (for messages)


def _pattern(tensor: torch.Tensor) -> Optional[Tuple[torch.Tensor, torch.dtype, int]]:
    """(real view, integer dtype, pattern) for a tensor the canary applies to, else None."""
    if tensor.device.type == "meta" or not tensor.numel() or tensor.numel() > LARGEST:
        return None
    view = torch.view_as_real(tensor) if tensor.is_complex() else tensor
    found = _PATTERNS.get(view.dtype)
    return (view, *found) if found else None


def _fill(tensor: Any, allocator: str) -> Any:
    """Write the canary into a fresh uninitialised tensor (any other value passes through)."""
    if not _active or not isinstance(tensor, torch.Tensor):
        return tensor
    found = _pattern(tensor)
    if found is None:
        return tensor
    view, integer, pattern = found
    with torch.no_grad():
        torch._C.TensorBase.fill_(view.view(integer), pattern)  # the untraced original, never a wrapper
    try:
        _origin[tensor.untyped_storage().data_ptr()] = allocator
    except RuntimeError:
        pass
    return tensor


def _wrap(function: Callable, allocator: str) -> Callable:
    def allocate(*args: Any, **kwargs: Any) -> Any:
        return _fill(function(*args, **kwargs), allocator)

    allocate.__wrapped__ = function  # type: ignore[attr-defined]
    allocate.__name__ = getattr(function, "__name__", allocator)
    return allocate


def _sizes_only(args: Tuple[Any, ...]) -> bool:
    """`torch.Tensor(2, 3)` / `x.new(2, 3)` / `torch.Tensor(torch.Size([2, 3]))`: sizes, no data."""
    if len(args) == 1 and isinstance(args[0], torch.Size):
        return True
    return bool(args) and all(type(a) is int for a in args)


def _spelled(name: str, args: Tuple[Any, ...]) -> str:
    sizes = tuple(args[0]) if len(args) == 1 and isinstance(args[0], torch.Size) else args
    return f"{name}({', '.join(map(str, sizes))})"


def _tensor_new(cls: type, *args: Any, **kwargs: Any) -> Any:
    made = torch._C.TensorBase.__new__(cls, *args, **kwargs)
    return _fill(made, _spelled("torch.Tensor", args)) if _sizes_only(args) else made


def _legacy_new(original: Callable) -> Callable:
    def new(self: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        made = original(self, *args, **kwargs)
        return _fill(made, _spelled("Tensor.new", args)) if _sizes_only(args) else made

    return new


class _LegacyType(type):
    """Stands in for `torch.FloatTensor` & co. while the canary is on: the originals are immutable
    C types, so `torch.FloatTensor(n, m)` cannot be hooked otherwise; isinstance still works."""

    _original: Any

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        made = cls._original(*args, **kwargs)
        return _fill(made, _spelled(f"torch.{cls.__name__}", args)) if _sizes_only(args) else made

    def __instancecheck__(cls, value: Any) -> bool:
        return isinstance(value, cls._original)

    def __subclasscheck__(cls, other: Any) -> bool:
        return issubclass(other, cls._original)


def _install() -> None:
    for name in ("empty", "empty_like", "empty_strided"):
        _saved[(torch, name)] = getattr(torch, name)
        setattr(torch, name, _wrap(getattr(torch, name), f"torch.{name}"))
    _saved[(torch.Tensor, "new_empty")] = torch.Tensor.__dict__.get("new_empty")
    torch.Tensor.new_empty = _wrap(torch.Tensor.new_empty, "Tensor.new_empty")  # type: ignore[method-assign]
    _saved[(torch.Tensor, "new")] = torch.Tensor.__dict__.get("new")
    torch.Tensor.new = _legacy_new(torch.Tensor.new)  # type: ignore[method-assign]
    _saved[(torch.Tensor, "__new__")] = torch.Tensor.__dict__.get("__new__")
    torch.Tensor.__new__ = _tensor_new  # type: ignore[assignment]
    for name in _LEGACY:
        original = getattr(torch, name, None)
        if original is not None:
            _saved[(torch, name)] = original
            setattr(torch, name, _LegacyType(name, (), {"_original": original}))


def _uninstall() -> None:
    for (owner, name), original in _saved.items():
        if original is None:
            delattr(owner, name)  # it was inherited: drop our shadow
        else:
            setattr(owner, name, original)
    _saved.clear()


class Canary:
    """Context manager: uninitialised allocations made inside are filled with the canary."""

    def __enter__(self) -> "Canary":
        global _active
        if not _active:
            _origin.clear()
            _install()
        _active += 1
        return self

    def __exit__(self, *exc: object) -> None:
        global _active
        _active -= 1
        if not _active:
            _uninstall()


def untouched(model: nn.Module, label: str) -> Tuple[Finding, ...]:
    """IL107 for every parameter of `model` whose entries all still hold the canary."""
    findings: List[Finding] = []
    for name, param in model.named_parameters():
        if isinstance(param, nn.parameter.UninitializedParameter):
            continue
        found = _pattern(param.detach())
        if found is None:
            continue
        view, integer, pattern = found
        if bool((view.view(integer) == pattern).all()):
            try:
                allocator = _origin.get(param.untyped_storage().data_ptr(), "torch.empty")
            except RuntimeError:
                allocator = "torch.empty"
            findings.append(uninitialised_finding(name, tuple(param.shape), allocator, label))
    return tuple(findings)
