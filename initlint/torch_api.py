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
# The words of an in-place constant write (torch's trailing underscore, and nn.init's old
# `constant`): a site wherever it is.
CONSTANT_WRITE_WORDS = frozenset(w for w in CONSTANT_WORDS if w.endswith("_") or w == "constant")
# The words of a constant value (`torch.zeros`, `w.new_ones`) or of repeated rows (`.expand`): a
# site only where it becomes a tensor that trains or a layer's weight (what the collector's
# constant and repeat sites require).
CONSTANT_VALUE_WORDS = CONSTANT_WORDS - CONSTANT_WRITE_WORDS
BECOMES_TRAINABLE = frozenset(
    {"Parameter", "ParameterList", "ParameterDict", "register_parameter", "requires_grad", "requires_grad_",
     "copy_", "set_", "Variable"}
)
# The attributes an assignment to which writes a tensor's values (`fc.weight = ...`, `w.data = ...`).
WRITTEN_TENSOR_ATTRS = ("weight", "bias", "data")
# ... or an assignment to a layer's tensor (`fc.weight = nn.Parameter(...)`, `w.data = ...`,
# `rnn.weight_ih_l0 = ...`): the collector's writes of values (facts._writes_values, the `.weight*`
# targets of repeated rows; any name these begin, a superset). The words `weight`, `bias` and
# `data` alone are in every model's code (`self.weight` read in `forward`); only an assignment to
# them makes a constant there a site. (Annotations and augmented operators are let through: a
# superset. A subscript is not: only a whole-slice write of a number is a site there,
# WHOLE_SLICE_WRITE's.)
WRITES_LAYER_TENSOR = r"\.(?:" + "|".join(WRITTEN_TENSOR_ATTRS) + r")\w*[\s\\]*(?::[^:=\n]*)?[-+*/@%&|^<>]*=(?!=)"
# A whole-tensor slice assignment of a number (`w[:] = 0.5`, `w[...] = 1`, `w[:, :] = -1`): a
# constant site without a word. As the collector's (`_subscript_fill`): every element a slice
# with no bounds (a step is let through) or `...`, and a literal number, signed or in brackets,
# or True/False. `x[:, 0] = y` in a `forward` is not one.
# (Each repetition takes what no other part can: every match attempt is linear in its line.)
_WHOLE = r"[\s\\(]*(?:\.\.\.[\s\\)]*|:(?:[\s\\]*:(?:[^,\[\]\n=]|\[[^\[\]\n]*\])*|[\s\\)]*))"
WHOLE_SLICE_WRITE = r"\[" + _WHOLE + r"(?:," + _WHOLE + r")*,?\][\s\\)]*(?::[^:=\n]*)?=(?!=)[\s\\(+-]*(?:\.?\d|True\b|False\b)"
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


# ---- what the network model knows of torch.nn's classes -------------------------------------
# Activation modules and functions -> (canonical name). Their behaviour at 0 is in ACTIVATION_AT_ZERO.
ACTIVATION_MODULES = {
    "ReLU": "relu", "ReLU6": "relu6", "LeakyReLU": "leaky_relu", "PReLU": "prelu", "RReLU": "rrelu",
    "ELU": "elu", "SELU": "selu", "CELU": "celu", "GELU": "gelu", "SiLU": "silu", "Mish": "mish",
    "Tanh": "tanh", "Sigmoid": "sigmoid", "Hardtanh": "hardtanh", "Hardswish": "hardswish",
    "Hardsigmoid": "hardsigmoid", "Softplus": "softplus", "Softsign": "softsign", "Tanhshrink": "tanhshrink",
    "Threshold": "threshold", "LogSigmoid": "logsigmoid", "Softshrink": "softshrink", "Hardshrink": "hardshrink",
}
ACTIVATION_FUNCTIONS = {
    "torch.relu": "relu", "torch.relu_": "relu", "torch.nn.functional.relu": "relu", "torch.nn.functional.relu_": "relu",
    "torch.nn.functional.relu6": "relu6", "torch.nn.functional.leaky_relu": "leaky_relu", "torch.nn.functional.elu": "elu",
    "torch.nn.functional.selu": "selu", "torch.selu": "selu", "torch.nn.functional.celu": "celu", "torch.celu": "celu",
    "torch.nn.functional.gelu": "gelu", "torch.nn.functional.silu": "silu", "torch.nn.functional.mish": "mish",
    "torch.tanh": "tanh", "torch.nn.functional.tanh": "tanh", "torch.sigmoid": "sigmoid", "torch.nn.functional.sigmoid": "sigmoid",
    "torch.nn.functional.hardtanh": "hardtanh", "torch.nn.functional.hardswish": "hardswish",
    "torch.nn.functional.hardsigmoid": "hardsigmoid", "torch.nn.functional.softplus": "softplus",
    "torch.nn.functional.softsign": "softsign", "torch.nn.functional.logsigmoid": "logsigmoid",
    "torch.clamp": "clamp", "torch.clamp_min": "clamp", "torch.clip": "clamp", "torch.nn.functional.threshold": "threshold",
}
ACTIVATION_METHODS = {
    "relu": "relu", "relu_": "relu", "sigmoid": "sigmoid", "sigmoid_": "sigmoid", "tanh": "tanh", "tanh_": "tanh",
    "clamp": "clamp", "clamp_": "clamp", "clamp_min": "clamp", "clamp_min_": "clamp", "clip": "clamp",
}
# name -> (its value at 0 is 0, its derivative at 0 is 0, as PyTorch's backward computes it:
# ReLU passes grad * (out > 0), Hardtanh with min_val=0 and clamp(min=0) likewise).
ACTIVATION_AT_ZERO = {
    "relu": (True, True), "relu6": (True, True), "relu_min0": (True, True), "threshold": (True, True),
    "leaky_relu": (True, False), "prelu": (True, False), "rrelu": (True, False), "elu": (True, False),
    "selu": (True, False), "celu": (True, False), "gelu": (True, False), "silu": (True, False),
    "mish": (True, False), "tanh": (True, False), "hardtanh": (True, False), "hardswish": (True, False),
    "softsign": (True, False), "tanhshrink": (True, False), "softshrink": (True, True), "hardshrink": (True, True),
    "sigmoid": (False, False), "hardsigmoid": (False, False), "softplus": (False, False), "logsigmoid": (False, False),
}
# torch.nn modules that hold no parameter and act on each unit alone (or only reshape).
RESHAPING_MODULES = frozenset({
    "Flatten", "Unflatten", "Identity", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d", "LPPool1d", "LPPool2d", "LPPool3d", "Upsample", "UpsamplingNearest2d",
    "UpsamplingBilinear2d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
    "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d",
    "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d", "CircularPad2d", "CircularPad3d",
    "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "FractionalMaxPool2d", "FractionalMaxPool3d",
})
DROPOUT_MODULES = frozenset({"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"})
# Parameter-free modules that mix units (their output's units are not their input's one by one).
MIXING_MODULES = frozenset({"Softmax", "Softmax2d", "LogSoftmax", "Softmin", "GLU", "PixelShuffle", "PixelUnshuffle",
                            "ChannelShuffle", "Fold", "Unfold", "CosineSimilarity", "PairwiseDistance", "CrossMapLRN2d"})
EMBEDDINGS = frozenset({"torch.nn.Embedding", "torch.nn.EmbeddingBag"})
# Modules with parameters the model does not look inside (attention, recurrent and transformer layers).
OPAQUE_LAYERS = frozenset("torch.nn." + n for n in (
    "MultiheadAttention", "Transformer", "TransformerEncoder", "TransformerDecoder", "TransformerEncoderLayer",
    "TransformerDecoderLayer", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "AdaptiveLogSoftmaxWithLoss",
))
# Functions that act on each unit alone or only move units around (no mixing of units' values).
RESHAPING_FUNCTIONS = frozenset({
    "torch.flatten", "torch.reshape", "torch.squeeze", "torch.unsqueeze", "torch.transpose", "torch.permute",
    "torch.nn.functional.max_pool1d", "torch.nn.functional.max_pool2d", "torch.nn.functional.max_pool3d",
    "torch.nn.functional.avg_pool1d", "torch.nn.functional.avg_pool2d", "torch.nn.functional.avg_pool3d",
    "torch.nn.functional.adaptive_avg_pool1d", "torch.nn.functional.adaptive_avg_pool2d",
    "torch.nn.functional.adaptive_avg_pool3d", "torch.nn.functional.adaptive_max_pool1d",
    "torch.nn.functional.adaptive_max_pool2d", "torch.nn.functional.adaptive_max_pool3d",
    "torch.nn.functional.interpolate", "torch.nn.functional.pad", "torch.nn.functional.upsample",
})
RESHAPING_METHODS = frozenset({
    "view", "reshape", "flatten", "squeeze", "unsqueeze", "permute", "transpose", "contiguous", "t", "float",
    "half", "double", "bfloat16", "to", "type_as", "view_as", "reshape_as", "clone", "detach", "cuda", "cpu",
    "expand", "expand_as", "repeat", "mean", "sum", "amax", "max", "squeeze_", "unsqueeze_", "flip",
})
DROPOUT_FUNCTIONS = frozenset({
    "torch.nn.functional.dropout", "torch.nn.functional.dropout1d", "torch.nn.functional.dropout2d",
    "torch.nn.functional.dropout3d", "torch.nn.functional.alpha_dropout", "torch.dropout",
})
LINEAR_FUNCTIONS = frozenset({"torch.nn.functional.linear"})
CONV_FUNCTIONS = frozenset("torch.nn.functional." + n for n in ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"))

# What a star import of a torch module binds that the rules read (torch.nn has no __all__: a
# star import binds its public names).
STAR_EXPORTS = {
    "torch.nn": frozenset(
        {n.rsplit(".", 1)[-1] for n in MATRIX_LAYERS | NORM_LAYERS | CONTAINERS | RECURRENT_LAYERS | EMBEDDINGS | OPAQUE_LAYERS}
        | set(ACTIVATION_MODULES) | RESHAPING_MODULES | DROPOUT_MODULES | MIXING_MODULES
        | {"Parameter", "Module", "init", "functional", "UninitializedParameter", "Identity"}
    ),
    "torch.nn.init": frozenset(set(INIT_CONSTANT) | set(RANDOM_INIT_SUFFIXES) - {"init_weights", "reset_parameters", "_reset_parameters"}),
    "torch.nn.functional": frozenset({q.rsplit(".", 1)[-1] for q in list(ACTIVATION_FUNCTIONS) + list(RESHAPING_FUNCTIONS) + list(DROPOUT_FUNCTIONS) + list(LINEAR_FUNCTIONS) + list(CONV_FUNCTIONS) if q.startswith("torch.nn.functional.")}),
    "torch": frozenset(
        {q.rsplit(".", 1)[-1] for q in list(CONSTANT_CONSTRUCTORS) + list(RANDOM_CONSTRUCTORS) if q.count(".") == 1}
        | {"nn", "Tensor", "tensor", "matmul", "mm", "bmm", "einsum", "relu", "sigmoid", "tanh", "cat", "stack",
           "no_grad", "flatten", "clamp", "tile", "broadcast_to", "empty", "empty_like", "arange", "eye"}
    ),
}
# For a star import of a module that is not torch's: the names code uses, by convention, for torch's.
CONVENTIONAL = {"nn": "torch.nn", "F": "torch.nn.functional", "init": "torch.nn.init", "torch": "torch"}
