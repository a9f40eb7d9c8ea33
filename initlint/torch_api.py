"""Canonical torch names that the rules match against (after import resolution)."""

from __future__ import annotations

from typing import Optional

INIT = "torch.nn.init."

# nn.init functions that set a tensor to one value: name -> the value (None: read it from argument 1 / `val`).
INIT_CONSTANT = {
    "constant_": None,
    "constant": None,
    "ones_": 1.0,
    "ones": 1.0,
    "zeros_": 0.0,
    "zeros": 0.0,
}

# nn.init functions (and look-alikes from timm and friends) that draw random values.
RANDOM_INIT_SUFFIXES = (
    "normal_",
    "normal",
    "uniform_",
    "uniform",
    "orthogonal_",
    "orthogonal",
    "sparse_",
    "sparse",
    "kaiming_normal_",
    "kaiming_uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "trunc_normal_",
    "trunc_normal_tf_",
    "lecun_normal_",
    "variance_scaling_",
    "eye_",
    "dirac_",
    "random_",
    "bernoulli_",
    "exponential_",
    "cauchy_",
    "log_normal_",
    "geometric_",
    "init_weights",
    "reset_parameters",
    "_reset_parameters",
)
# Tensor methods that randomise in place.
RANDOM_METHODS = frozenset(
    {"normal_", "uniform_", "random_", "bernoulli_", "exponential_", "cauchy_", "log_normal_", "geometric_"}
)
# torch constructors of random tensors.
RANDOM_CONSTRUCTORS = frozenset(
    {"torch." + n for n in ("randn", "rand", "randint", "randn_like", "rand_like", "randint_like", "normal", "empty")}
    | {"torch.nn.init." + n for n in ("normal_", "uniform_")}
)

# Names that, by convention, hold a weight matrix used in a product (`W1`, `w_hidden`, `weight`);
# matched ignoring case (IL001's `used_as_matrix`, and the screen's argument for leaving one out).
WEIGHT_NAME = r"^(w|weights?|kernel)([_0-9].*)?$"
PARAMETER = frozenset({"torch.nn.Parameter", "torch.nn.parameter.Parameter", "torch.nn.UninitializedParameter"})

# torch constructors of constant tensors: name -> (value or None for "read argument `fill_value`", shape from)
CONSTANT_CONSTRUCTORS = {
    "torch.zeros": 0.0,
    "torch.ones": 1.0,
    "torch.full": None,
    "torch.zeros_like": 0.0,
    "torch.ones_like": 1.0,
    "torch.full_like": None,
    "torch.Tensor.new_zeros": 0.0,
    "torch.Tensor.new_ones": 1.0,
    "torch.Tensor.new_full": None,
}
LIKE_CONSTRUCTORS = frozenset({"torch.zeros_like", "torch.ones_like", "torch.full_like"})
CONSTANT_METHODS = {"new_zeros": 0.0, "new_ones": 1.0, "new_full": None}

# Layers whose `.weight` is a matrix with one unit per row (dimension 0).
_MATRIX_LAYERS = (
    "Linear",
    "LazyLinear",
    "Bilinear",
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
)
MATRIX_LAYERS = frozenset("torch.nn." + n for n in _MATRIX_LAYERS)
RECURRENT_LAYERS = frozenset("torch.nn." + n for n in ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"))
_NORM_LAYERS = (
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
    "SyncBatchNorm",
    "LayerNorm",
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
    "LocalResponseNorm",
    "RMSNorm",
)
NORM_LAYERS = frozenset("torch.nn." + n for n in _NORM_LAYERS)
CONTAINERS = frozenset("torch.nn." + n for n in ("Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"))
MODULE_BASES = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module"})

# Activations whose gradient at 0 is 0 (PyTorch's ReLU backward passes grad * (out > 0)).
RELU_FUNCTIONS = frozenset(
    {
        "torch.relu",
        "torch.relu_",
        "torch.nn.functional.relu",
        "torch.nn.functional.relu_",
        "torch.nn.functional.relu6",
        "torch.nn.functional.hardtanh",  # only with min_val=0, checked by the caller
        "torch.clamp",
        "torch.clamp_min",
        "torch.clip",
    }
)
RELU_MODULES = frozenset({"torch.nn.ReLU", "torch.nn.ReLU6"})

# Things that turn a vector into a matrix of identical rows or columns.
REPEAT_METHODS = frozenset({"repeat", "expand", "expand_as", "tile", "broadcast_to", "repeat_interleave"})
REPEAT_FUNCTIONS = frozenset({"torch.tile", "torch.broadcast_to"})

# Names for module attributes that are, by convention, normalisation layers.
NORM_NAME_PARTS = ("norm", "bn", "ln", "gn")


def is_init_function(qualname: Optional[str]) -> Optional[str]:
    """The bare nn.init function name if `qualname` is one (`torch.nn.init.constant_` -> `constant_`)."""
    if qualname and qualname.startswith(INIT):
        return qualname[len(INIT):]
    return None


def is_norm_name(name: str) -> bool:
    """True for attribute or class names that, by convention, hold a normalisation layer."""
    low = name.lower()
    if "norm" in low:
        return True
    parts = [p for p in low.replace(".", "_").split("_") if p]
    return any(p.rstrip("0123456789") in NORM_NAME_PARTS for p in parts)


def is_norm_class(qualname: Optional[str]) -> bool:
    """A torch norm layer, or any class whose name says Norm."""
    if not qualname:
        return False
    return qualname in NORM_LAYERS or "norm" in qualname.rsplit(".", 1)[-1].lower()


# ---- the words the rules' sites are spelt with (for the screen: initlint.screen.Needs) -------
# A tensor set to one constant: nn.init's constant functions, constant constructors, in-place
# fills and copies (the collector's constant sites).
CONSTANT_WORDS = frozenset(
    set(INIT_CONSTANT)
    | {q.rsplit(".", 1)[-1] for q in CONSTANT_CONSTRUCTORS}
    | set(CONSTANT_METHODS)
    | {"fill_", "zero_", "copy_"}
)
# A whole-tensor slice assignment (`w[:] = 0.5`, `w[...] = 1`): a constant site without a word.
WHOLE_SLICE_WRITE = r"\[[\s\\(]*(?::|\.\.\.)[^\]\n]*\][\s\\)]*(?::[^=\n]*)?=(?!=)"
# Code that gives a tensor random values (a later re-init clears a constant).
RANDOM_WORDS = frozenset(
    set(RANDOM_INIT_SUFFIXES)
    | set(RANDOM_METHODS)
    | {q.rsplit(".", 1)[-1] for q in RANDOM_CONSTRUCTORS}
)
# Rows or columns repeated into a matrix.
REPEAT_WORDS = frozenset(REPEAT_METHODS | {q.rsplit(".", 1)[-1] for q in REPEAT_FUNCTIONS})
# Calls that walk a module's tree (IL004's walks, and `.apply`).
WALK_WORDS = frozenset({"apply", "parameters", "named_parameters", "modules", "named_modules", "children", "named_children"})
