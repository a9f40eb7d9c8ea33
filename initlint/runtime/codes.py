"""The runtime mode's diagnostic codes, and their documentation for the reporters (no torch).

IL1xx are facts measured by running the model, as opposed to IL0xx, which are read from the code.
"""

from __future__ import annotations

from typing import Dict, Tuple, Type

SYMMETRIC = ("IL101", "symmetric-units")
DEAD = ("IL102", "dead-parameter")
INIT_TOUCHED_NOTHING = ("IL103", "init-touched-nothing")
RUNTIME_ERROR = ("IL104", "runtime-error")
UNREGISTERED_TENSOR = ("IL105", "unregistered-tensor")
SHARED_PARAMETER = ("IL106", "shared-parameter")
UNINITIALISED_PARAMETER = ("IL107", "uninitialised-parameter")


_DOCS = {
    "IL101": (
        "Two or more units of a parameter keep identical weights and identical gradients at "
        "initialisation and after every SGD step of the probe.",
        "Units that start identical and are updated identically stay identical for ever: the "
        "layer's effective width is the number of distinct units.",
        "Give the layer a random initialisation (its default, or nn.init.kaiming_uniform_).",
    ),
    "IL102": (
        "A parameter whose gradient is exactly zero at every step of the probe.",
        "A parameter that never receives a gradient never learns; a zeroed layer followed by a "
        "ReLU is the usual cause.",
        "Initialise the weight randomly, or the bias away from the ReLU's flat side.",
    ),
    "IL103": (
        "An initialisation routine ran while the module was built but reached none of the "
        "parameters of the finished module.",
        "The routine ran before the layers existed (or on tensors later replaced), so the "
        "intended initialisation never happens and nothing fails.",
        "Call the init routine at the end of __init__, after the last layer is assigned.",
    ),
    "IL104": (
        "The runtime probe could not build or run the target: it raised, crashed, hung, ran "
        "out of memory or needs arguments or inputs that were not given.",
        "Nothing could be measured for this target.",
        "Pass --args / --input-shape, or fix the error shown.",
    ),
    "IL105": (
        "A leaf tensor that requires grad and reaches the loss but is not among the module's "
        "parameters: a tensor stored as a plain attribute, or a layer kept in a plain Python list.",
        "parameters() does not return it, so an optimizer built from them never updates it; "
        ".to(), state_dict() and load_state_dict() do not see it either.",
        "Wrap the tensor in nn.Parameter (or register_parameter), the list in nn.ModuleList.",
    ),
    "IL106": (
        "One module object with parameters sits at several places of the module tree (a "
        "ModuleList or Sequential built with [Block()] * n, or by appending the same object).",
        "The n layers are one layer repeated: they share every weight, so the network has the "
        "capacity of one block. Sharing one by name (self.head.weight = self.embed.weight) is "
        "deliberate and not reported.",
        "Build a new module per place: nn.ModuleList([Block() for _ in range(n)]).",
    ),
    "IL107": (
        "A parameter that still holds the untouched memory of torch.empty / torch.Tensor(n, m) "
        "when the module is built: no write of any kind reached it.",
        "Uninitialised memory is whatever bytes were there: often zeros (every unit identical), "
        "sometimes huge values or NaN.",
        "Initialise it (nn.init.kaiming_uniform_, or call reset_parameters() at the end of __init__).",
    ),
}

CODES = (
    SYMMETRIC, DEAD, INIT_TOUCHED_NOTHING, RUNTIME_ERROR, UNREGISTERED_TENSOR, SHARED_PARAMETER, UNINITIALISED_PARAMETER,
)


def url(code: str) -> str:
    """Where a runtime code is documented (docs/rules.md, which links to docs/runtime.md)."""
    from initlint.diagnostic import docs_url

    return docs_url(code)


def rules() -> Dict[str, Type]:
    """Rule classes describing the runtime codes (names, docs, urls) for `initlint.report.render`."""
    from initlint.rule import Rule  # imported late: the worker never needs it

    made: Dict[str, Type] = {}
    for code, name in CODES:
        what, why, instead = _DOCS[code]
        doc = f"## What it does\n{what}\n\n## Why is this bad?\n{why}\n\n## Example\nSee docs/runtime.md.\n\n## Use instead\n{instead}\n"
        attrs = {"__doc__": doc, "code": code, "name": name, "message": "{evidence}", "url": classmethod(lambda cls: url(cls.code))}
        made[code] = type(f"Runtime{code}", (Rule,), attrs)
    return made


def summary(code: str) -> Tuple[str, str]:
    """(what it does, use instead) for one code."""
    what, _, instead = _DOCS[code]
    return what, instead
