"""initlint's rules, one module each, registered explicitly (installed as `initlint.rules`)."""

from __future__ import annotations

from typing import Dict, Tuple, Type

from initlint.rule import Rule
from initlint.rules.il001_constant_weight_init import ConstantWeightInit
from initlint.rules.il002_dead_zero_layer import DeadZeroLayer
from initlint.rules.il003_constant_init_loop import ConstantInitLoop
from initlint.rules.il004_init_before_layers import InitBeforeLayers
from initlint.rules.il005_identical_rows import IdenticalRows
from initlint.rules.il006_unregistered_submodules import UnregisteredSubmodules
from initlint.rules.il007_shared_module_repeated import SharedModuleRepeated
from initlint.rules.il008_uninitialised_parameter import UninitialisedParameter
from initlint.rules.il009_unregistered_tensor import UnregisteredTensor
from initlint.rules.il010_weak_constant_start import WeakConstantStart

ALL_RULES: Tuple[Type[Rule], ...] = (
    ConstantWeightInit,
    DeadZeroLayer,
    ConstantInitLoop,
    InitBeforeLayers,
    IdenticalRows,
    UnregisteredSubmodules,
    SharedModuleRepeated,
    UninitialisedParameter,
    UnregisteredTensor,
    WeakConstantStart,
)

BY_CODE: Dict[str, Type[Rule]] = {rule.code: rule for rule in ALL_RULES}
