"""IL107: parameters that keep the untouched memory of `torch.empty` / `torch.Tensor(n, m)`.

While a module is built (and, in the worker, while the file's own code runs), every allocation
that leaves memory uninitialised is filled with a canary: a NaN whose payload no arithmetic
produces. `torch.empty`, `empty_like`, `empty_strided`, `Tensor.new_empty`, `Tensor.new(n, m)`
(seen through a torch function mode, torch's own calls included), `torch.Tensor(n, m)` and the
legacy `torch.FloatTensor(n, m)` family (which no mode sees: `Tensor.__new__` and the legacy
names are replaced while the canary is on) are covered. Any write at all
replaces the canary: `nn.init.*`, in-place methods, indexing, `out=` arguments, `copy_`,
`load_state_dict`, C++ kernels. A parameter whose every entry still holds the canary after
construction was reached by no write: that is IL107, whatever path the writes would have taken
(tracking the writes themselves would miss `out=` and C++ paths).

Scaling untouched memory (`torch.empty(n).mul_(0.1)`) keeps the payload on the usual hardware,
and is reported too: scaled garbage is garbage. A large allocation is marked at 4,096 evenly spread
entries only (see MARKS), so marking costs nothing that matters even for gigabytes; a write that
reaches none of them (a handful of entries of a big matrix) leaves it reported, as it should:
it is still almost all garbage. The canary replaces bytes the code must not read
anyway; a model that does read them sees NaN, which the probe reports as a non-finite output.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from initlint.runtime.results import Finding, uninitialised_finding

# dtype -> (integer dtype of the same width, the NaN bit pattern written through it)
_PATTERNS: Dict[torch.dtype, Tuple[torch.dtype, int]] = {
    torch.float32: (torch.int32, 0x7FC1DEAD),
    torch.float64: (torch.int64, 0x7FF8DEADC0DE1EAD),
    torch.float16: (torch.int16, 0x7E5A),
    torch.bfloat16: (torch.int16, 0x7FDA),
}
_LEGACY = ("FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor")
# Functions (seen through the function mode) that return memory nothing has written yet.
_UNINITIALISED = {
    "empty": "torch.empty", "empty_like": "torch.empty_like", "empty_strided": "torch.empty_strided",
    "new_empty": "Tensor.new_empty", "new_empty_strided": "Tensor.new_empty_strided",
}
# A large allocation is marked at MARKS evenly spread entries, not all: filling it whole would
# commit its memory (a preallocated buffer of gigabytes that the code never writes would be paid
# for in full) and cost a pass over it. Any init writes every entry, so it clears the marks alike.
MARKS = 4096
_WHOLE = 1 << 16  # up to this many entries, every one is marked

_active = 0
_saved: Dict[Tuple[Any, str], Any] = {}
_origin: Dict[int, str] = {}  # storage address -> the allocator that made it (for messages)


def _pattern(tensor: torch.Tensor) -> Optional[Tuple[torch.Tensor, torch.dtype, int]]:
    """(real view, integer dtype, pattern) for a tensor the canary applies to, else None."""
    if tensor.device.type == "meta" or not tensor.numel():
        return None
    view = torch.view_as_real(tensor) if tensor.is_complex() else tensor
    found = _PATTERNS.get(view.dtype)
    return (view, *found) if found else None


def _marks(view: torch.Tensor, integer: torch.dtype) -> torch.Tensor:
    """The entries that carry the canary: all of a small or non-contiguous tensor, else MARKS spread evenly."""
    bits = view.view(integer)
    if bits.numel() <= _WHOLE or not bits.is_contiguous():
        return bits
    return bits.reshape(-1)[:: bits.numel() // MARKS]


def _fill(tensor: Any, allocator: str) -> Any:
    """Write the canary into a fresh uninitialised tensor (any other value passes through)."""
    if not _active or not isinstance(tensor, torch.Tensor):
        return tensor
    found = _pattern(tensor)
    if found is None:
        return tensor
    view, integer, pattern = found
    with torch.no_grad():
        torch._C.TensorBase.fill_(_marks(view, integer), pattern)  # the untraced original, never a wrapper
    try:
        _origin[tensor.untyped_storage().data_ptr()] = allocator
    except RuntimeError:
        pass
    return tensor


class _Allocations(TorchFunctionMode):
    """Sees every torch call while the canary is on, and fills what the uninitialised allocators return.

    A function mode rather than patched `torch.empty` & co.: torch's own code (nn.Linear allocates
    with torch.empty) is covered alike, nothing in the `torch` namespace changes (TorchScript
    resolving `torch.empty` inside the user's code still finds the builtin), and `from torch
    import empty` binds the real function."""

    def __torch_function__(self, func: Any, types: Any, args: Tuple[Any, ...] = (), kwargs: Optional[Dict[str, Any]] = None) -> Any:
        made = func(*args, **(kwargs or {}))
        name = getattr(func, "__name__", "")
        if name in _UNINITIALISED:
            return _fill(made, _UNINITIALISED[name])
        if name == "new" and _sizes_only(tuple(args[1:])):  # the legacy x.new(2, 3); x.new([1, 2]) is data
            return _fill(made, _spelled("Tensor.new", tuple(args[1:])))
        return made


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
    # The constructors a function mode does not see: torch.Tensor(2, 3) and torch.FloatTensor(2, 3).
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

    def __init__(self) -> None:
        self._mode: Optional[_Allocations] = None

    def __enter__(self) -> "Canary":
        global _active
        if not _active:
            _origin.clear()
            _install()
            self._mode = _Allocations()
            self._mode.__enter__()
        _active += 1
        return self

    def __exit__(self, *exc: object) -> None:
        global _active
        _active -= 1
        if self._mode is not None:
            self._mode.__exit__(None, None, None)
            self._mode = None
        if not _active:
            _uninstall()


def untouched(model: nn.Module, label: str) -> Tuple[Finding, ...]:
    """IL107 for every parameter of `model` whose marked entries all still hold the canary."""
    findings: List[Finding] = []
    for name, param in model.named_parameters():
        if isinstance(param, nn.parameter.UninitializedParameter):
            continue
        found = _pattern(param.detach())
        if found is None:
            continue
        view, integer, pattern = found
        if bool((_marks(view, integer) == pattern).all()):
            try:
                allocator = _origin.get(param.untyped_storage().data_ptr(), "torch.empty")
            except RuntimeError:
                allocator = "torch.empty"
            findings.append(uninitialised_finding(name, tuple(param.shape), allocator, label))
    return tuple(findings)
