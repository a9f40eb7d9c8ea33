"""IL103: record what the user's own code initialises while a module is built.

While the constructor runs, `torch.nn.init.*` functions, in-place tensor initialisers
(`fill_`, `zero_`, `normal_`, `copy_`, ..., and `param.data = ...`) and the module-tree walks
(`modules()`, `parameters()`, `named_modules()`, `named_parameters()`, `children()`, `apply()`)
are wrapped. A call counts only when its caller is the user's code (not torch, not the standard
library, not initlint): `nn.Linear.reset_parameters` calling `init.kaiming_uniform_` is the
layer's default, not the user's init.

Each call is credited to every user function on the stack (so `_initialize_weights` gets credit
for what its helper `_init_module` did). After construction, a routine that walked the module
tree when parameters of the final module did not exist yet and reached none of them is the
seed-004 LeNet bug (IL004 confirmed): `_initialize_weights()` walks `self.modules()`, which then
holds only the LeNet itself, so zero init calls execute.

`from torch.nn.init import normal_` binds the function when the user's file is imported, so the
worker installs the nn.init wrappers (`preinstall`) before importing it; the wrappers do nothing
unless a Recorder is active.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import sys
import sysconfig
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from torch import nn

from initlint.runtime.results import Finding, InitRoutine, untouched_finding

TENSOR_METHODS = (
    "fill_", "zero_", "normal_", "uniform_", "copy_", "random_", "bernoulli_", "exponential_",
    "cauchy_", "log_normal_", "geometric_", "mul_", "div_", "add_", "clamp_", "set_",
)
WALKS = ("modules", "named_modules", "parameters", "named_parameters", "children", "named_children", "apply")

_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_OWN_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_STDLIB = sysconfig.get_paths()["stdlib"] + os.sep
_ACTIVE: List["Recorder"] = []  # the recorder of the construction in progress (a stack)
_USER: Dict[str, bool] = {}
_ORIGINAL: Dict[Tuple[object, str], Any] = {}


def is_user_file(filename: str) -> bool:
    """True for files of the user's code (cached by name)."""
    known = _USER.get(filename)
    if known is None:
        packages = "site-packages" in filename or "dist-packages" in filename
        known = not (
            filename.startswith((_TORCH_DIR, _OWN_DIR, "<frozen"))
            or (filename.startswith(_STDLIB) and not packages)
        )
        _USER[filename] = known
    return known


def _user_chain(frame: Any) -> List[Any]:
    """The user frames from `frame` outwards, stopping at initlint's own frame (the build boundary)."""
    chain = []
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(_OWN_DIR):
            break
        if is_user_file(filename):
            chain.append(frame)
        frame = frame.f_back
    return chain


@dataclass
class _Call:
    target: Any  # the tensor, kept alive so that its storage cannot be reused by a later allocation
    was_parameter: bool
    chain: Tuple[Any, ...]  # code objects of the user functions on the stack


@dataclass
class _Walk:
    code: Any
    module: nn.Module  # the module whose tree was walked (compared with its final tree)
    method: str
    modules: int
    parameters: int
    site: Optional[Tuple[str, int]]


class Recorder:
    """Context manager that records the user's init calls and tree walks during construction."""

    def __init__(self) -> None:
        self.calls: List[_Call] = []
        self.walks: List[_Walk] = []
        self.sites: Dict[Any, Tuple[str, int]] = {}  # routine code -> where it was called from

    def __enter__(self) -> "Recorder":
        preinstall()
        _patch_tensor_and_module()
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.remove(self)
        if not _ACTIVE:
            _unpatch_tensor_and_module()

    def note_call(self, tensor: Any, frame: Any) -> None:
        """A user-code init of `tensor` (called from `frame`)."""
        if not isinstance(tensor, torch.Tensor) or not is_user_file(frame.f_code.co_filename):
            return  # torch's own inits (a layer's reset_parameters) are defaults, not the user's
        chain = _user_chain(frame)
        if chain:
            self._site(chain)
            self.calls.append(_Call(tensor, isinstance(tensor, nn.Parameter), tuple(f.f_code for f in chain)))

    def note_walk(self, module: nn.Module, method: str, frame: Any, routine: Any = None) -> None:
        """A user-code walk of `module`'s tree; `routine` is apply()'s function (else the caller)."""
        if not is_user_file(frame.f_code.co_filename):
            return  # torch walking its own tree (apply() recursing into children, say)
        chain = _user_chain(frame)
        if not chain:
            return
        code = routine if routine is not None else chain[0].f_code
        if routine is not None:
            site = (chain[0].f_code.co_filename, chain[0].f_lineno)
        else:
            site = self._site(chain)
        mods = list(_ORIGINAL[(nn.Module, "named_modules")](module))
        params = list(_ORIGINAL[(nn.Module, "parameters")](module))
        self.walks.append(_Walk(code, module, method, len(mods), len(params), site))
        if site is not None:
            self.sites.setdefault(code, site)

    def _site(self, chain: List[Any]) -> Optional[Tuple[str, int]]:
        """Remember where the innermost routine was called from (its caller's current line)."""
        if len(chain) < 2:
            return None
        site = (chain[1].f_code.co_filename, chain[1].f_lineno)
        self.sites.setdefault(chain[0].f_code, site)
        return site

    def summarize(self, model: nn.Module, label: str) -> Tuple[Tuple[InitRoutine, ...], Tuple[Finding, ...]]:
        """The init routines that ran, and IL103 for those that reached nothing they should have."""
        final = {_storage(p): name for name, p in model.named_parameters() if _storage(p)}
        kept = set(final) | {_storage(b) for b in model.buffers() if _storage(b)}
        total = len(final)
        codes: List[Any] = []
        for code in [w.code for w in self.walks] + [c.chain[0] for c in self.calls]:
            if code not in codes:
                codes.append(code)
        routines, findings = [], []
        for code in codes:
            calls = [c for c in self.calls if code in c.chain]
            walks = [w for w in self.walks if w.code == code]
            reached = {final[s] for s in (_storage(c.target) for c in calls) if s in final}
            seen = max((w.parameters for w in walks), default=0)
            path, line = self.sites.get(code, (code.co_filename, code.co_firstlineno))
            name = getattr(code, "co_qualname", code.co_name)
            routine = InitRoutine(name, path, line, len(calls), len(walks), seen, len(reached), total)
            routines.append(routine)
            lost = [c for c in calls if c.was_parameter and _storage(c.target) not in kept]
            if reached or total == 0:
                continue
            # A walk that missed parameters its module has now ran before they existed.
            early = [w for w in walks if w.parameters < len(list(w.module.parameters()))]
            if early and _looks_like_init(code):
                findings.append(untouched_finding(routine, _walk_evidence(routine, early[0], label)))
            elif calls and len(lost) == len(calls):
                evidence = (
                    f"{name} made {len(calls)} init call(s) while {label} was built, but the parameters it "
                    f"initialised were replaced afterwards: it reached 0 of {total} parameters"
                )
                findings.append(untouched_finding(routine, evidence))
        return tuple(routines), tuple(findings)


_INIT_WORDS = re.compile(
    r"\binit\.|nn\.init|\.data\s*=|reset_parameters|kaiming|xavier|trunc_normal|"
    r"\b(fill|zero|normal|uniform|copy|constant|ones|zeros|eye|dirac|sparse|orthogonal|random|bernoulli)_\("
)


def _looks_like_init(code: Any) -> bool:
    """Whether a routine that walked the tree is an initialiser (its source calls one).

    A walk alone proves nothing (counting parameters, freezing layers); LeNet's
    `_initialize_weights` made no call because there was nothing to reach, but its source shows
    what it meant to do. Unreadable source counts as an initialiser.
    """
    try:
        lines, _ = inspect.getsourcelines(code)
    except (OSError, TypeError):
        return True
    return bool(_INIT_WORDS.search("".join(lines)))


def _walk_evidence(routine: InitRoutine, walk: _Walk, label: str) -> str:
    what = "ran self.apply(...)" if walk.method == "apply" else f"walked self.{walk.method}()"
    held = f"{walk.modules} module{'s' if walk.modules != 1 else ''} and {walk.parameters} parameters"
    return (
        f"{routine.name} ran while {label} was built and reached 0 of {routine.total} parameters: "
        f"it {what} when the module held {held} (the layers were assigned after it ran)"
    )


def _storage(tensor: Any) -> int:
    """The address of a tensor's storage (0 for empty or storage-less tensors)."""
    if isinstance(tensor, nn.parameter.UninitializedTensorMixin):
        return 0  # a Lazy layer's parameter before its first forward: no storage yet
    try:
        return tensor.untyped_storage().data_ptr() if tensor.numel() else 0
    except (RuntimeError, NotImplementedError):
        return 0


def _recording() -> Optional[Recorder]:
    return _ACTIVE[-1] if _ACTIVE else None


def _init_wrapper(function: Callable) -> Callable:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        recorder = _recording()
        if recorder is not None:
            tensor = args[0] if args else kwargs.get("tensor")
            recorder.note_call(tensor, sys._getframe(1))
        return function(*args, **kwargs)

    wrapper.__initlint_wrapped__ = function  # type: ignore[attr-defined]
    return wrapper


def preinstall() -> None:
    """Wrap every `torch.nn.init` function whose first parameter is a tensor (idempotent, permanent)."""
    for name, value in list(vars(torch.nn.init).items()):
        if name.startswith("_") or not inspect.isfunction(value) or hasattr(value, "__initlint_wrapped__"):
            continue
        try:
            first = next(iter(inspect.signature(value).parameters), None)
        except (TypeError, ValueError):
            continue
        if first == "tensor":
            setattr(torch.nn.init, name, _init_wrapper(value))


def _method_wrapper(original: Callable) -> Callable:
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        recorder = _recording()
        if recorder is not None:
            recorder.note_call(self, sys._getframe(1))
        return result

    return functools.wraps(original)(wrapper)


def _data_property() -> property:
    base = torch._C.TensorBase.data  # the getset descriptor every tensor inherits

    def setter(self: Any, value: Any) -> None:
        base.__set__(self, value)
        recorder = _recording()
        if recorder is not None:
            recorder.note_call(self, sys._getframe(1))

    return property(base.__get__, setter)


def _walk_wrapper(name: str, original: Callable) -> Callable:
    def wrapper(self: nn.Module, *args: Any, **kwargs: Any) -> Any:
        recorder = _recording()
        if recorder is not None:
            fn = args[0] if (name == "apply" and args) else kwargs.get("fn")
            routine = getattr(getattr(fn, "__func__", fn), "__code__", None) if name == "apply" else None
            recorder.note_walk(self, name, sys._getframe(1), routine)
        return original(self, *args, **kwargs)

    return functools.wraps(original)(wrapper)


def _patch_tensor_and_module() -> None:
    if _ACTIVE:
        return  # already patched by an outer recorder
    for name in TENSOR_METHODS:
        original = getattr(torch.Tensor, name)
        _ORIGINAL[(torch.Tensor, name)] = torch.Tensor.__dict__.get(name)
        setattr(torch.Tensor, name, _method_wrapper(original))
    _ORIGINAL[(torch.Tensor, "data")] = torch.Tensor.__dict__.get("data")
    torch.Tensor.data = _data_property()  # type: ignore[misc]
    for name in WALKS:
        original = nn.Module.__dict__[name]
        _ORIGINAL[(nn.Module, name)] = original
        setattr(nn.Module, name, _walk_wrapper(name, original))


def _unpatch_tensor_and_module() -> None:
    for name in TENSOR_METHODS + ("data",):
        original = _ORIGINAL.pop((torch.Tensor, name), None)
        if original is None:
            delattr(torch.Tensor, name)  # it was inherited from TensorBase: drop our shadow
        else:
            setattr(torch.Tensor, name, original)
    for name in WALKS:
        setattr(nn.Module, name, _ORIGINAL.pop((nn.Module, name)))
