"""The Python API: `check(model, *inputs)` -> Report, and the pytest helper `assert_learnable`.

`model` may be a module instance (probed on a deep copy: the caller's module is never changed),
or a class or zero-argument factory (built here, so IL103 can watch the construction).
"""

from __future__ import annotations

import copy
import os
import sys
import warnings
from typing import Any, Callable, Dict, Optional, Sequence, Union

import torch
from torch import nn

from initlint.runtime import loader, probe, shapes, structure
from initlint.runtime.results import Report
from initlint.runtime.spec import InputSpec, parse_shape

MIN_STEPS = 3  # a zero output head revives the layers before it only after a step or two


class DeviceError(RuntimeError):
    """The device asked for is not available."""


def resolve_device(device: Union[str, torch.device]) -> torch.device:
    """`auto` -> cuda when available, else cpu; `cuda` without a GPU is an error, not a silent fallback."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise DeviceError("device cuda was asked for, but torch.cuda.is_available() is False")
    return resolved


def _copy(model: nn.Module) -> nn.Module:
    """A deep copy, so that the probe never trains the caller's module."""
    try:
        return copy.deepcopy(model)
    except Exception as error:
        raise TypeError(
            f"cannot deep-copy {type(model).__name__} ({type(error).__name__}: {error}); "
            "pass the class or a factory, or copy_model=False to probe it in place"
        ) from error


def _check_steps(steps: int) -> None:
    if steps < MIN_STEPS:
        raise ValueError(f"steps must be at least {MIN_STEPS}: a zero-initialised head gives zero gradients upstream at step 0")


def check(
    model: Union[nn.Module, Callable[..., Any]],
    *example_inputs: Any,
    steps: int = 3,
    device: Union[str, torch.device] = "cpu",
    lr: float = 0.01,
    seed: int = 0,
    input_shapes: Optional[Sequence[Union[str, InputSpec]]] = None,
    kwargs: Optional[Dict[str, Any]] = None,
    randomize_inputs: bool = True,
    copy_model: bool = True,
    on_phase: Optional[Callable[[str], None]] = None,
    input_kwargs: Optional[Dict[str, Any]] = None,
    keep: Sequence[int] = (),
) -> Report:
    """Probe `model` with `steps` SGD steps on random inputs and cotangents; return what it proved.

    example_inputs: floating data is redrawn at random with the same shape and dtype (an all-zero
    example would starve the first layer), unless `randomize_inputs=False`; integer and boolean
    tensors, 0/1 floating masks and the positions in `keep` are used as given. Without them,
    `input_shapes` (`"4,784"`, `"4,16:ids"`, `"4,16:mask"`) are used, else the shape is inferred.
    input_kwargs: keyword inputs of forward (used as given). kwargs: constructor arguments when
    `model` is a class or factory.
    """
    _check_steps(steps)
    resolve_device(device)  # fail before building
    phase = on_phase or (lambda _: None)
    phase("building")
    if isinstance(model, nn.Module):
        built = loader.Built(_copy(model) if copy_model else model, type(model).__name__)
    else:
        built = loader.build(model, kwargs)
    return probe_built(
        built, *example_inputs, steps=steps, device=device, lr=lr, seed=seed,
        input_shapes=input_shapes, randomize_inputs=randomize_inputs, on_phase=on_phase,
        input_kwargs=input_kwargs, keep=keep,
    )


def probe_built(
    built: loader.Built,
    *example_inputs: Any,
    steps: int = 3,
    device: Union[str, torch.device] = "cpu",
    lr: float = 0.01,
    seed: int = 0,
    input_shapes: Optional[Sequence[Union[str, InputSpec]]] = None,
    randomize_inputs: bool = True,
    on_phase: Optional[Callable[[str], None]] = None,
    input_kwargs: Optional[Dict[str, Any]] = None,
    keep: Sequence[int] = (),
) -> Report:
    """Probe a module already built (and owned: it is trained in place); the second half of `check`."""
    _check_steps(steps)
    phase = on_phase or (lambda _: None)
    target = resolve_device(device)
    module = built.model.to(target)
    phase("making inputs")
    generator = torch.Generator().manual_seed(seed)
    examples = example_inputs or built.examples or ()
    forward_kwargs = {k: v.to(target) if isinstance(v, torch.Tensor) else v for k, v in (input_kwargs or built.example_kwargs or {}).items()}
    redraw: Optional[Callable[[], Sequence[Any]]] = None  # fresh random inputs for each later step
    if examples:
        if randomize_inputs:
            inputs = shapes.randomize(examples, target, generator, keep)
            redraw = lambda: shapes.randomize(examples, target, generator, keep)  # noqa: E731
        else:
            inputs = tuple(e.to(target) if isinstance(e, torch.Tensor) else e for e in examples)
    elif input_shapes:
        specs = [s if isinstance(s, InputSpec) else parse_shape(s) for s in input_shapes]
        inputs = shapes.make(specs, module, target, generator)
        redraw = lambda: shapes.make(specs, module, target, generator)  # noqa: E731
    elif forward_kwargs:
        inputs = ()
    else:
        phase("inferring the input shape (forward on trial inputs)")
        inputs, inferred = shapes.infer(module, target, generator, built.label)
        redraw = lambda: shapes.make(inferred, module, target, generator)  # noqa: E731
    shared = structure.shared_modules(module)
    phase("probing")
    outcome = probe.run(module, inputs, steps=steps, lr=lr, seed=seed, kwargs=forward_kwargs, redraw=redraw)
    described = shapes.describe(inputs) + [f"{k}={d}" for k, d in zip(forward_kwargs, shapes.describe(list(forward_kwargs.values())))]
    return Report(
        model=type(module).__name__,
        steps=outcome.steps,
        device=str(target),
        findings=built.construction + shared + outcome.findings,
        parameters=outcome.parameters,
        init_routines=built.routines,
        notes=outcome.notes,
        init_recorded=built.recorded,
        input_shapes=tuple(described),
        echoes=outcome.echoes,
    )


def construction_report(built: loader.Built, error: str) -> Report:
    """What is known without the probe (IL103, IL106, IL107): when forward could not be run, `error`
    says why; empty when the probe was not needed."""
    return Report(
        model=type(built.model).__name__, steps=0, device="cpu",
        findings=built.construction + structure.shared_modules(built.model),
        init_routines=built.routines, notes=(f"not probed: {error}",) if error else (), init_recorded=built.recorded,
    )


def _outside() -> int:
    """The stack level of the first caller outside initlint.runtime (the user's test), for warnings."""
    here = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame, level = frame.f_back, level + 1
    return level


def assert_learnable(model: Union[nn.Module, Callable[..., Any]], *example_inputs: Any, **options: Any) -> Report:
    """pytest helper: `check(...)`, raising AssertionError with a readable report when anything is found.

    Pass the class or a zero-argument factory (`lambda: MyNet(64)`), so that the construction is
    watched: IL103 (an init that reached nothing) and IL107 (uninitialised memory) are checked only
    then. An instance was built before initlint could watch it: a UserWarning says what was skipped.
    Accepts the options of `check`. Returns the report when the model is learnable.
    """
    if isinstance(model, nn.Module):
        warnings.warn(
            f"assert_learnable got an instance of {type(model).__name__}: IL103 (init that touched nothing) and "
            "IL107 (uninitialised parameters) are not checked, since the construction ran before initlint could "
            f"watch it. Pass the class ({type(model).__name__}) or a zero-argument factory (lambda: {type(model).__name__}(...)).",
            UserWarning,
            stacklevel=_outside(),
        )
    report = check(model, *example_inputs, **options)
    if not report.ok:
        raise AssertionError("initlint: the model cannot learn as initialised\n" + report.format())
    return report
