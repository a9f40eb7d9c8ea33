"""Random inputs for the probe: from given shapes, from example inputs, or inferred from the first layer.

Inference looks at the first few layers the module registers (in registration order, which is
usually the order of the forward pass) and tries, for each, the input shapes that layer accepts:
`(batch, in_features)` for Linear, `(batch, C, S, S)` for Conv2d with S in SPATIAL, long indices
below `num_embeddings` for Embedding, `(batch, seq, input_size)` or `(seq, batch, input_size)` for
the RNN family (by `batch_first`). Each candidate is tried with one forward pass in eval mode
under no_grad (no running statistics change, no graph kept); the first that runs wins.
"""

from __future__ import annotations

from typing import Any, Iterator, List, Optional, Sequence, Tuple

import torch
from torch import nn

from initlint.runtime.spec import InputSpec

BATCH = 4  # > 1: BatchNorm in training mode needs more than one value per channel
SEQ = 16
SPATIAL = (32, 64, 224, 28, 16, 96, 128, 256, 299, 8)
SPATIAL_3D = (16, 32, 8, 64)
LAYERS_TRIED = 3
ATTEMPTS = 24


class InputError(Exception):
    """No input could be made for the model (the message says what to pass)."""


def make(specs: Sequence[InputSpec], model: nn.Module, device: torch.device, generator: torch.Generator) -> Tuple[torch.Tensor, ...]:
    """Random tensors for explicit shapes; integer inputs are indices below the smallest embedding table."""
    high = vocabulary(model)
    return tuple(_random(spec.shape, getattr(torch, spec.dtype), device, generator, high) for spec in specs)


def randomize(examples: Sequence[Any], device: torch.device, generator: torch.Generator) -> Tuple[Any, ...]:
    """Example inputs with their floating tensors redrawn (same shape and dtype); others kept as given.

    Degenerate examples (all ones, repeated features) make healthy units look identical, so only
    their shapes are used; integer tensors (token ids, labels) keep their values.
    """
    out = []
    for value in examples:
        if isinstance(value, torch.Tensor) and value.is_floating_point():
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
    layers = [(n, m) for n, m in model.named_modules() if _candidates(m)][:LAYERS_TRIED]
    if not layers:
        raise InputError(
            f"cannot infer the input shape of {label}: none of its layers is one whose input shape is known "
            "(Linear, Conv1d/2d/3d, Embedding, RNN/LSTM/GRU, ...); pass --input-shape (batch first, e.g. --input-shape 4,3)"
        )
    was_training = model.training
    model.eval()  # no running-statistics updates while guessing
    errors: List[Exception] = []
    try:
        for _, layer in layers:
            for specs in _candidates(layer):
                if attempts >= ATTEMPTS:
                    break
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


def _describe(layer: nn.Module) -> str:
    for attribute in ("in_features", "in_channels", "num_embeddings", "input_size", "embed_dim", "num_features"):
        if hasattr(layer, attribute):
            return f"{type(layer).__name__}, {attribute}={getattr(layer, attribute)}"
    return type(layer).__name__


def _candidates(layer: nn.Module) -> List[List[InputSpec]]:
    """Input specs a model whose first layer is `layer` may accept, most likely first."""
    lazy = getattr(layer, "has_uninitialized_params", None)
    if lazy is not None and lazy():
        return []  # a Lazy layer learns its input size from the first forward: nothing to read
    return list(_specs(layer))


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
        return (torch.rand(shape, generator=generator) < 0.5).to(device)
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


def first_layer(model: nn.Module) -> Optional[str]:
    """The name of the first layer inference would look at (for messages)."""
    return next((n for n, m in model.named_modules() if _candidates(m)), None)
