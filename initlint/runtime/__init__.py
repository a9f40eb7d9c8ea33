"""initlint's runtime mode: build the module, train a deep copy a few steps, report what provably cannot learn.

Importing this package does not import torch (the CLI must be able to say "install
initlint[runtime]" without it); `check` and `assert_learnable` import it on first use.

    from initlint.runtime import check, assert_learnable
    report = check(MyNet(), torch.randn(4, 784))      # Report: findings, parameters, notes
    assert_learnable(MyNet, torch.randn(4, 784))      # in a pytest test
"""

from __future__ import annotations

import importlib.util
from typing import Any

from initlint.runtime.results import Finding, InitRoutine, ParameterStat, Report

__all__ = ["check", "assert_learnable", "Report", "Finding", "ParameterStat", "InitRoutine", "torch_available", "INSTALL_HINT"]

INSTALL_HINT = "the runtime mode needs torch: pip install 'initlint[runtime]'"


def torch_available() -> bool:
    """True when torch can be imported (checked without importing it)."""
    return importlib.util.find_spec("torch") is not None


def check(model: Any, *example_inputs: Any, **options: Any) -> Report:
    """Probe `model` (an instance, class or factory); see `initlint.runtime.api.check`."""
    from initlint.runtime.api import check as _check

    return _check(model, *example_inputs, **options)


def assert_learnable(model: Any, *example_inputs: Any, **options: Any) -> Report:
    """pytest helper: raise AssertionError with a readable report when the probe finds anything."""
    from initlint.runtime.api import assert_learnable as _assert

    return _assert(model, *example_inputs, **options)
