"""Random inputs for the probe: from given shapes, from example inputs, or inferred from the first layer.

Inference looks at the first few layers the module registers (in registration order, which is
usually the order of the forward pass) and tries, for each, the input shapes that layer accepts:
`(batch, in_features)` for Linear, `(batch, C, S, S)` for Conv2d with S in SPATIAL, long indices
below `num_embeddings` for Embedding, `(batch, seq, input_size)` or `(seq, batch, input_size)` for
the RNN family (by `batch_first`). Each candidate is tried with one forward pass in eval mode
under no_grad (no running statistics change, no graph kept); the first that runs wins.
"""

from __future__ import annotations

import itertools
from typing import Any, Iterator, List, Sequence, Tuple

import torch
from torch import nn

from initlint.runtime import feeds
from initlint.runtime.spec import InputSpec

BATCH = 4  # > 1: BatchNorm in training mode needs more than one value per channel
SEQ = 16
SPATIAL = (32, 64, 224, 28, 16, 96, 128, 256, 299, 8)
SPATIAL_3D = (16, 32, 8, 64)
LAYERS_TRIED = 3
ATTEMPTS = 24
LAZY_FEATURES = 16  # the feature size given to a Lazy first layer


class InputError(Exception):
    """No input could be made for the model (the message says what to pass)."""


def make(specs: Sequence[InputSpec], model: nn.Module, device: torch.device, generator: torch.Generator) -> Tuple[torch.Tensor, ...]:
    """Tensors for explicit shapes: random data, token ids below the smallest embedding table, masks of ones.

    A mask is never random: noise in a mask hides positions at random (a padding mask that hides
    a whole row gives NaN). Generated masks and boolean inputs are all ones: keep / attend everywhere.
    """
    high = vocabulary(model)
    out = []
    for spec in specs:
        dtype = getattr(torch, spec.dtype)
        if spec.role == "mask" or dtype == torch.bool:
            out.append(torch.ones(spec.shape, dtype=dtype, device=device))
        elif spec.role == "ids" and dtype.is_floating_point:
            out.append(_random(spec.shape, torch.int64, device, generator, high))
        else:
            out.append(_random(spec.shape, dtype, device, generator, high))
    return tuple(out)


def is_mask(value: torch.Tensor) -> bool:
    """A floating tensor of zeros and ones with at least one 1: a mask, whose values are kept.

    An all-zero tensor is not taken for a mask: as data it would starve the first layer of any
    gradient (a false IL102), and as an additive mask (0 = attend) noise keeps it harmless.
    """
    if not value.numel() or value.is_complex():
        return False
    ones = value == 1
    return bool((ones | (value == 0)).all()) and bool(ones.any())


def randomize(examples: Sequence[Any], device: torch.device, generator: torch.Generator, keep: Sequence[int] = ()) -> Tuple[Any, ...]:
    """Example inputs with their floating data redrawn (same shape and dtype); the rest kept as given.

    Degenerate examples (an all-zero batch starves the first layer of gradient) would give false
    findings, so floating data contributes only its shape; integer and boolean tensors (token ids,
    labels, masks), 0/1 floating masks and the positions in `keep` keep their values.
    """
    out = []
    for index, value in enumerate(examples):
        if isinstance(value, torch.Tensor) and value.is_floating_point() and index not in keep and not is_mask(value):
            out.append(torch.randn(value.shape, generator=generator, dtype=value.dtype).to(device))
        elif isinstance(value, torch.Tensor):
            out.append(value.to(device))
        else:
            out.append(value)
    return tuple(out)


def vocabulary(model: nn.Module) -> int:
    """The exclusive upper bound for random integer inputs: the smallest embedding table, else 2."""
    sizes = [m.num_embeddings for m in model.modules() if isinstance(m, (nn.Embedding, nn.EmbeddingBag))]
    return min(sizes) if sizes else 2


def infer(model: nn.Module, device: torch.device, generator: torch.Generator, label: str) -> Tuple[Tuple[torch.Tensor, ...], List[InputSpec]]:
    """Inputs the model accepts, guessed from its first layers; InputError says why none was found."""
    tried: List[str] = []
    last_error = ""
    attempts = 0
    arguments = feeds.required_arguments(model)
    if len(arguments) > 1:
        layers, guesses = _per_argument(model, arguments, label)
    else:
        layers = [(n, m) for n, m in model.named_modules() if _candidates(m)][:LAYERS_TRIED]
        guesses = [specs for _, layer in layers for specs in _candidates(layer)]
    if not layers:
        raise InputError(
            f"cannot infer the input shape of {label}: none of its layers is one whose input shape is known "
            "(Linear, Conv1d/2d/3d, Embedding, RNN/LSTM/GRU, ...); pass --input-shape (batch first, e.g. --input-shape 4,3)"
        )
    was_training = model.training
    model.eval()  # no running-statistics updates while guessing
    errors: List[Exception] = []
    try:
        for specs in guesses[:ATTEMPTS]:
            attempts += 1
            inputs = make(specs, model, device, generator)
            try:
                with torch.no_grad():
                    model(*inputs)
            except Exception as error:  # any failure means: not this shape
                errors.append(error)
                last_error = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
                tried.append(", ".join(s.describe() for s in specs))
                continue
            return inputs, list(specs)
    finally:
        model.train(was_training)
    if len(errors) > 1 and len({(type(e), str(e)) for e in errors}) == 1:
        # The same error whatever the shape: forward itself is broken, not the guess.
        raise errors[-1]
    first_name, first = layers[0]
    raise InputError(
        f"cannot infer the input shape of {label}: its first layer {first_name} ({_describe(first)}) suggested "
        f"{len(tried)} shape(s) ({'; '.join(tried[:4])}{', ...' if len(tried) > 4 else ''}) and forward rejected "
        f"each (last: {last_error}); pass --input-shape"
    )


def _per_argument(model: nn.Module, arguments: List[str], label: str) -> Tuple[List[Tuple[str, nn.Module]], List[List[InputSpec]]]:
    """For a forward of several inputs: the layer each argument feeds first, and the combinations of their shapes."""
    first = feeds.first_layers(model, arguments)
    missing = [a for a in arguments if a not in first or not _candidates(first[a])]
    if missing:
        raise InputError(
            f"cannot infer the input shapes of {label}: forward takes {', '.join(arguments)}, and the first layer "
            f"{'they feed' if len(missing) > 1 else 'it feeds'} could not be read for {', '.join(missing)}; "
            "pass one --input-shape per argument, in order"
        )
    names = {id(m): n for n, m in model.named_modules()}
    layers = [(names.get(id(first[a]), a), first[a]) for a in arguments]
    options = [[specs[0] for specs in _candidates(first[a])] for a in arguments]
    return layers, [list(combo) for combo in itertools.islice(itertools.product(*options), ATTEMPTS)]


def _describe(layer: nn.Module) -> str:
    for attribute in ("in_features", "in_channels", "num_embeddings", "input_size", "embed_dim", "num_features"):
        if hasattr(layer, attribute):
            return f"{type(layer).__name__}, {attribute}={getattr(layer, attribute)}"
    return type(layer).__name__


def _candidates(layer: nn.Module) -> List[List[InputSpec]]:
    """Input specs a model whose first layer is `layer` may accept, most likely first."""
    lazy = getattr(layer, "has_uninitialized_params", None)
    if lazy is not None and lazy():
        return list(_lazy_specs(layer))  # it learns its input size from the first forward: any size will do
    return list(_specs(layer))


def _lazy_specs(layer: nn.Module) -> Iterator[List[InputSpec]]:
    """Inputs for a Lazy layer, which takes whatever feature size it is given first."""
    conv = nn.modules.conv
    if isinstance(layer, nn.LazyLinear):
        yield [InputSpec((BATCH, LAZY_FEATURES))]
    elif isinstance(layer, conv._ConvNd):
        dims = _spatial_dims(layer)
        for size in (SPATIAL_3D if dims == 3 else SPATIAL)[:3]:
            yield [InputSpec((BATCH, 3) + (size,) * dims)]
    elif isinstance(layer, nn.modules.batchnorm._LazyNormBase):
        yield [InputSpec((BATCH, LAZY_FEATURES))]


def _specs(layer: nn.Module) -> Iterator[List[InputSpec]]:
    conv = nn.modules.conv
    if isinstance(layer, nn.Linear):
        yield [InputSpec((BATCH, layer.in_features))]
        yield [InputSpec((BATCH, SEQ, layer.in_features))]
    elif isinstance(layer, nn.Bilinear):
        yield [InputSpec((BATCH, layer.in1_features)), InputSpec((BATCH, layer.in2_features))]
    elif isinstance(layer, (conv._ConvNd, nn.modules.batchnorm._BatchNorm)) and not isinstance(layer, nn.BatchNorm1d):
        channels = getattr(layer, "in_channels", None) or layer.num_features
        dims = _spatial_dims(layer)
        sizes = SPATIAL_3D if dims == 3 else SPATIAL
        for size in sizes:
            yield [InputSpec((BATCH, channels) + (size,) * dims)]
    elif isinstance(layer, nn.BatchNorm1d):
        yield [InputSpec((BATCH, layer.num_features))]
        yield [InputSpec((BATCH, layer.num_features, SEQ))]
    elif isinstance(layer, (nn.Embedding, nn.EmbeddingBag)):
        yield [InputSpec((BATCH, SEQ), "int64")]
        yield [InputSpec((SEQ,), "int64")]
    elif isinstance(layer, nn.RNNBase):
        order = (BATCH, SEQ) if layer.batch_first else (SEQ, BATCH)
        yield [InputSpec(order + (layer.input_size,))]
    elif isinstance(layer, nn.MultiheadAttention):  # the first leaf of a Transformer layer
        order = (BATCH, SEQ) if layer.batch_first else (SEQ, BATCH)
        yield [InputSpec(order + (layer.embed_dim,))]
        yield [InputSpec(order[::-1] + (layer.embed_dim,))]
    elif isinstance(layer, nn.LayerNorm):
        shape = tuple(layer.normalized_shape)
        yield [InputSpec((BATCH, SEQ) + shape)]
        yield [InputSpec((BATCH,) + shape)]


def _spatial_dims(layer: nn.Module) -> int:
    name = type(layer).__name__
    for dims in (1, 2, 3):
        if f"{dims}d" in name:
            return dims
    kernel = getattr(layer, "kernel_size", (1, 1))
    return len(kernel) if isinstance(kernel, tuple) else 2


def _random(shape: Tuple[int, ...], dtype: torch.dtype, device: torch.device, generator: torch.Generator, high: int) -> torch.Tensor:
    if dtype == torch.bool:
        return torch.ones(shape, dtype=torch.bool, device=device)
    if not dtype.is_floating_point:
        return torch.randint(0, max(1, high), shape, generator=generator, dtype=dtype).to(device)
    return torch.randn(shape, generator=generator, dtype=dtype).to(device)


def describe(inputs: Sequence[Any]) -> List[str]:
    """`4x784 float32` per tensor input."""
    out = []
    for value in inputs:
        if isinstance(value, torch.Tensor):
            out.append("x".join(map(str, value.shape)) + " " + str(value.dtype).replace("torch.", ""))
        else:
            out.append(type(value).__name__)
    return out

