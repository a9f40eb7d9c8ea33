"""What a node of the module tree holds, as IL006 and IL007 ask it: parameters or none, a module or
something else, and how to name it in a message."""

from __future__ import annotations

import re
from typing import Optional, Set

from initlint.model.tree import ACT, CONTAINER, EMBEDDING, FREE, LAYER, LOCAL, NORM, OPAQUE, PARAM, UNKNOWN, Node, TreeBuilder

# Modules built by these libraries' constructors always hold parameters.
MODEL_LIBRARIES = ("torchvision.models.", "timm.", "transformers.")
_WITH_PARAMETERS = (LAYER, EMBEDDING, OPAQUE, PARAM)
_MODULE_KINDS = (LAYER, NORM, EMBEDDING, ACT, FREE, CONTAINER, LOCAL, OPAQUE)


def holds_parameters(node: Node, trees: TreeBuilder, seen: Optional[Set[str]] = None) -> Optional[bool]:
    """True when the node holds a parameter, False when it holds none, None when the file does
    not show (a class of another file, a container whose contents are not known)."""
    if node.kind in _WITH_PARAMETERS:
        return True
    if node.kind == NORM:
        if not (node.qualname or "").startswith("torch.") and not _NORM_LAYER_NAME.search((node.qualname or "").rsplit(".", 1)[-1]):
            # another file's `Normalize(mean, std)` or `ConvNormLayer(...)`: "norm" in a name says little
            return True if likely_layer(node) else None
        return node.affine
    if node.kind == ACT:
        return (node.qualname or "").endswith(".PReLU")  # (the one activation with a weight)
    if node.kind == FREE:
        return False
    if node.kind == CONTAINER:
        return _any(node.children, trees, seen)
    name = node.qualname if node.kind == LOCAL else file_class(node, trees)
    if name:
        # A class of the file (an nn.Module, or a class whose bases the file does not show): what
        # its own construction builds.
        seen = set() if seen is None else seen
        if name in seen:
            return None
        seen.add(name)
        tree = trees.tree(name)
        found = _any(list(tree.roots.values()), trees, seen)
        return None if found is False and tree.partial else found
    if node.kind == UNKNOWN and (node.qualname or "").startswith(MODEL_LIBRARIES):
        return True
    return None


# Classes of other files: names that say a layer with weights, and names that say none.
_LAYER_NAME = re.compile(
    r"Layer|Block|Conv|Attention|Attn|Linear|Dense|Encoder|Decoder|Head|MLP|Mlp|FeedForward|FFN|Transformer|"
    r"Embedding|Cell|LSTM|GRU|RNN|Stage|Expert|Gate|Bottleneck|Residual|ResNet|UNet|Net$"
)
# Another file's class named like a norm layer with a scale (`RMSNorm`, `LayerNorm2d`, `BatchNormAct2d`).
_NORM_LAYER_NAME = re.compile(r"^(?!Frozen).*Norm(\d*d)?(Act\w*)?\d*$")
PARAMETER_FREE_NAME = re.compile(
    r"act|relu|gelu|silu|swish|mish|sigmoid|tanh|identity|dropout|droppath|drop_path|pool|flatten|lambda|noop|pad|"
    r"upsample|shuffle|softmax|permute|transpose|reshape|view|squeeze|scale|clamp|quant|loss|metric|transform|norm$",
    re.IGNORECASE,
)


def likely_layer(node: Node) -> bool:
    """A class of another file built with arguments whose name says a layer with weights
    (`GraphAttentionLayer(nfeat, nhid)`, `ResBlock(64)`) and not an activation, pooling, loss..."""
    if node.kind not in (UNKNOWN, NORM) or node.call is None or not node.call.args:
        return False
    qualname = node.qualname or ""
    if qualname.startswith("torch."):
        return False
    short = qualname.rsplit(".", 1)[-1]
    return bool(_LAYER_NAME.search(short)) and not PARAMETER_FREE_NAME.search(short)


def module_like(facts, cls: str) -> bool:
    """An nn.Module class by the bases the file shows, or a class with a `forward` whose bases
    (or a base's) come from another file (`class Detector(RTDetrForObjectDetection)`)."""
    if facts.is_module_class(cls):
        return True
    seen: Set[str] = set()
    stack = [cls]
    forward = unknown = False
    while stack:
        name = stack.pop()
        info = facts.classes.get(name)
        if info is None or name in seen:
            continue
        seen.add(name)
        forward = forward or "forward" in info.methods
        for base in info.bases:
            if base in facts.classes:
                stack.append(base)
            elif base not in ("object", "", "ABC", "abc.ABC", "typing.Generic", "Generic"):
                unknown = True
    return forward and unknown


def class_defines(facts, cls: str, names: Set[str], depth: int = 0) -> bool:
    """Whether the class, or a base of it in the file, defines a method by one of these names."""
    info = facts.classes.get(cls)
    if info is None or depth > 8:
        return False
    if names & set(info.methods):
        return True
    return any(class_defines(facts, base, names, depth + 1) for base in info.bases)


def file_class(node: Node, trees: TreeBuilder) -> Optional[str]:
    """The class of the file an UNKNOWN node's call builds (one that is no nn.Module by the bases
    the file shows, `class Layer(GradientCheckpointingLayer)`), else None."""
    if node.kind != UNKNOWN or node.call is None or node.qualname:
        return None
    name = trees.facts.resolve(node.call.func)
    return name if name in trees.facts.classes else None


def _any(nodes, trees: TreeBuilder, seen) -> Optional[bool]:
    answer: Optional[bool] = False
    for child in nodes:
        held = holds_parameters(child, trees, seen)
        if held:
            return True
        if held is None:
            answer = None
    return answer


def is_module(node: Node) -> bool:
    """Whether the node is known to be an nn.Module (what nn.ModuleList accepts)."""
    if node.kind in _MODULE_KINDS:
        return True
    qualname = node.qualname or ""
    if node.kind == UNKNOWN and qualname.startswith(MODEL_LIBRARIES):
        return True
    return node.kind == UNKNOWN and qualname.startswith("torch.nn.") and qualname.rsplit(".", 1)[-1][:1].isupper()


def describe(node: Node) -> str:
    """`nn.Linear`, `Block`, `nn.Parameter`: the node's class as a message names it."""
    qualname = node.qualname or ""
    if node.kind == PARAM:
        return "nn.Parameter"
    if qualname.startswith("torch.nn."):
        return "nn." + qualname.rsplit(".", 1)[-1]
    if not qualname and node.call is not None:
        from initlint.imports import dotted_name

        qualname = dotted_name(node.call.func) or ""
    return qualname.rsplit(".", 1)[-1] or "module"
