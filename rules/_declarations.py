"""What the rules' sites need in text (initlint.screen.Needs), where several rules share it.
Light: imported with the rule registry, before any file is known to need libcst."""

from __future__ import annotations

from initlint import torch_api
from initlint.screen import Needs

# A tensor set to a constant or to repeated rows (the network model's judgement reads both),
# judged with what re-initialises it randomly (`context`), where the class's other methods use
# it (`class`), who reads what a function or a module-level statement makes (`users`), and the
# module-level statements (models the code builds, data flow of scripts).
#
# An in-place constant write (`constant_`, `zeros_`, `.fill_`) is a site wherever it is; a constant
# value (`torch.zeros(...)`) or repeated rows (`.expand(...)`) are one only where they become a
# trainable tensor or a layer's weight (`nn.Parameter`, `requires_grad`, `.data = `, `.weight_ih_l0 = `),
# in the same unit or one call apart: masks and broadcasts in `forward` are no rule's site.
CONSTANT_OR_ROWS = Needs(
    triggers=torch_api.CONSTANT_WRITE_WORDS,
    patterns=(torch_api.WHOLE_SLICE_WRITE,),
    context=torch_api.RANDOM_WORDS,
    follow=frozenset({"class", "users", "module"}),
    paired=torch_api.CONSTANT_VALUE_WORDS | torch_api.REPEAT_WORDS,
    pair_with=torch_api.BECOMES_TRAINABLE,
    pair_patterns=(torch_api.WRITES_LAYER_TENSOR,),
)

# Every nn.Module class's construction (IL006, IL007: what `__init__` stores where): its header
# names `Module` (`nn.Module`, `torch.nn.Module`) or a base whose name ends with it
# (`LightningModule`) or `PreTrainedModel`; subclasses of such classes in the file are followed.
# (Patterns start with a literal, any word boundary checked behind it: `re` then scans for the
# literal, where a leading `\b` makes it try every position of the file, 30x slower.)
MODULE_CLASS_HEADER = r"class(?<!\wclass)\s+\w+\s*\([^)]*(?:Module|PreTrainedModel)\b"
MODULE_CLASSES = Needs(
    triggers=frozenset({"Module"}),
    patterns=(MODULE_CLASS_HEADER,),
    follow=frozenset({"subclasses"}),
    reads=frozenset({"__init__"}),  # the tree `__init__` and its helpers build, not `forward`
)
# IL007: the same, and every container a function or the module's own code builds.
SHARED_MODULES = Needs(
    triggers=MODULE_CLASSES.triggers | {"ModuleList", "Sequential", "ModuleDict"},
    patterns=MODULE_CLASSES.patterns,
    follow=MODULE_CLASSES.follow,
    reads=MODULE_CLASSES.reads,
)
# IL008: a parameter created from uninitialised memory (`torch.empty(...)`, `torch.Tensor(n, m)`,
# `x.new_empty(...)`); the rule judges its candidates on the whole file.
EMPTY_PARAMETERS = Needs(
    triggers=frozenset({"empty", "new_empty", "empty_like", "empty_strided"}),
    patterns=(r"Tensor\s*\(\s*[\w(*]",),  # (any `...Tensor(`: FloatTensor, HalfTensor...; a superset)
)
# IL009: a tensor made trainable by hand (`requires_grad=True`, `.requires_grad_()`); the rule
# judges its candidates on the whole file.
TRAINABLE_TENSORS = Needs(triggers=frozenset({"requires_grad", "requires_grad_"}))
