"""Names are read as Python resolves them: what a function assigns to a name of its own is never
what another function's name of the same spelling holds (facts.FileFacts.bound)."""

from __future__ import annotations

import libcst as cst

from initlint import walk
from initlint.facts import Collector, FileFacts, collect
from initlint.imports import ImportTable
from initlint.walk import nodes

from conftest import lint

# A constant tensor made in a helper above the model, under the name the model's parameter has.
PARAMETER_SHADOWS = """\
import torch
import torch.nn as nn


def reference_weight():
    w = torch.ones(8, 8)
    return w


class Net(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.out = nn.Linear(8, 1)
        with torch.no_grad():
            self.fc.weight.copy_(w)

    def forward(self, x):
        return self.out(torch.relu(self.fc(x)))
"""


def test_a_parameter_is_not_what_another_function_assigns_to_its_name():
    """`w` in `__init__` is what the caller passes, not `reference_weight`'s `torch.ones`: no
    constant write, no finding (the file-wide reading reported IL010 here)."""
    assert lint(PARAMETER_SHADOWS) == []


def test_the_same_copy_from_a_constant_of_its_own_function_is_reported():
    """The twin whose `__init__` makes the constant itself is a constant write."""
    source = PARAMETER_SHADOWS.replace("    def __init__(self, w):\n        super().__init__()\n",
                                       "    def __init__(self):\n        super().__init__()\n        w = torch.ones(8, 8)\n")
    assert "w = torch.ones(8, 8)\n        self.fc" in source
    assert [d.code for d in lint(source)] == ["IL010"]


SCOPES = """\
import torch

a = torch.zeros(1)


class Base:
    def __init__(self):
        self.t = torch.ones(2)

    def reset(self):
        read(self.t)


class Net(Base):
    def build(self, a):
        read(a)
        read(self.t)

    def make(self):
        a = torch.ones(3)
        read(a)

        def inner():
            read(a)
        return inner


class Sibling(Base):
    def __init__(self):
        self.t = torch.full((5,), 5.0)


class Unrelated:
    def __init__(self):
        self.t = torch.full((4,), 4.0)


def free():
    read(a)


@staticmethod
def static(self):
    read(self.t)
"""


def _readings(source: str):
    """For each `read(x)` call: (the function it is in, x, what `bound` gives there, as code)."""
    scopes = {}

    class Recording(Collector):  # the collector, remembering each function's scope
        def visit_FunctionDef(self, node):
            super().visit_FunctionDef(node)
            scopes[id(node)] = self.scope

    module = cst.parse_module(source)
    facts = FileFacts(module=module, imports=ImportTable(), source=source, parsed=source)
    walk.visit(module, Recording(facts))
    found = []
    for fn in nodes(module):
        if not isinstance(fn, cst.FunctionDef):
            continue
        for call in nodes(fn.body, (cst.FunctionDef,)):  # (a nested function's reads are its own)
            if isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value == "read":
                name = module.code_for_node(call.args[0].value)
                values = facts.bound(name, scopes[id(fn)])
                last = facts.last_bound(name, scopes[id(fn)])
                assert last is (values[-1] if values else None)  # the same answer, without the list
                found.append((fn.name.value, name, [module.code_for_node(v) for v in values]))
    return found


def test_bound_resolves_names_as_python_does():
    readings = _readings(SCOPES)
    assert ("build", "a", []) in readings  # a parameter: the module's `a` is shadowed
    # a method's receiver: what the class and its bases assign, not a sibling's or an unrelated
    # class's `self.t`; in the base, what it and every subclass assign, in the file's order
    assert ("build", "self.t", ["torch.ones(2)"]) in readings
    assert ("reset", "self.t", ["torch.ones(2)", "torch.full((5,), 5.0)"]) in readings
    assert ("make", "a", ["torch.ones(3)"]) in readings  # its own assignment, not the module's
    assert ("inner", "a", ["torch.ones(3)"]) in readings  # the enclosing function's
    assert ("free", "a", ["torch.zeros(1)"]) in readings  # the module's
    assert ("static", "self.t", []) in readings  # not a method: `self` is a parameter like any other
    assert len(readings) == 7


def _beside_a_module_constant(copies: str) -> str:
    """A model whose `__init__` runs `copies` (indented for its body), in a script that binds
    `w = torch.ones(8, 8)` at module level."""
    return (
        "import torch\nimport torch.nn as nn\n\nw = torch.ones(8, 8)\n\n\n"
        "class Net(nn.Module):\n    def __init__(self, weights):\n        super().__init__()\n"
        "        self.fc = nn.Linear(8, 8)\n        self.out = nn.Linear(8, 1)\n"
        + copies
        + "\n    def forward(self, x):\n        return self.out(torch.relu(self.fc(x)))\n"
    )


# The same copy, from a loop variable named like a module-level constant of a script.
LOOP_SHADOWS = _beside_a_module_constant("        with torch.no_grad():\n            for w in weights:\n                self.fc.weight.copy_(w)\n")


def test_a_loop_variable_is_not_the_module_level_name_it_shadows():
    """`for w in weights` makes `w` local to `__init__`: the module's `w = torch.ones(...)` is
    not what is copied (the file-wide reading, and the first scoped one, reported IL010)."""
    assert lint(LOOP_SHADOWS) == []
    # the twin without the loop copies the module's constant: reported
    twin = LOOP_SHADOWS.replace("            for w in weights:\n                self.fc", "            self.fc")
    assert "for w" not in twin
    assert [d.code for d in lint(twin)] == ["IL010"]


OTHER_BINDINGS = """\
import torch

w = torch.zeros(1)
g = torch.zeros(2)


def loop(ps):
    for w in ps:
        read(w)


def unpacked(pair):
    w, v = pair
    read(w)


def handler():
    try:
        pass
    except ValueError as w:
        read(w)


def managed(opener):
    with opener() as w:
        read(w)


def imported():
    from somewhere import w
    read(w)


def walrus(x):
    if (w := x) is not None:
        read(w)


def declares():
    global g
    g = torch.ones(3)


def reads():
    read(g)
    read(w)


def outer():
    w = torch.ones(4)

    def inner():
        nonlocal w
        w = torch.ones(5)

    def reader():
        read(w)
    return inner, reader
"""


def test_every_way_a_function_binds_a_name_makes_it_its_own():
    readings = _readings(OTHER_BINDINGS)
    for function in ("loop", "unpacked", "handler", "managed", "imported", "walrus"):
        assert (function, "w", []) in readings, function  # local: not the module's torch.zeros(1)
    # `global g` assigns the module's g; a function that binds neither name reads the module's
    assert ("reads", "g", ["torch.zeros(2)", "torch.ones(3)"]) in readings
    assert ("reads", "w", ["torch.zeros(1)"]) in readings
    # `nonlocal w` assigns the enclosing function's w, which a sibling closure reads
    assert ("reader", "w", ["torch.ones(4)", "torch.ones(5)"]) in readings
    assert len(readings) == 9


SHADOWED_INSIDE = _beside_a_module_constant(
    "        with torch.no_grad():\n            [self.fc.weight.copy_(w) for w in weights]\n"
    "        self.load = lambda w: self.out.weight.copy_(w)\n"
)


def test_a_comprehension_or_lambda_variable_is_not_the_name_it_shadows():
    """Inside `[... for w in weights]` and `lambda w: ...`, `w` is their own: neither copy is a
    constant write of the module's `w = torch.ones(...)`."""
    def constant_copies(source):
        return [site.target_name for site in collect(cst.parse_module(source)).sites if site.kind == "constant"]

    assert constant_copies(SHADOWED_INSIDE) == []
    assert lint(SHADOWED_INSIDE) == []
    # outside them the module's constant is what `w` holds
    twin = SHADOWED_INSIDE.replace("[self.fc.weight.copy_(w) for w in weights]", "self.fc.weight.copy_(w)")
    twin = twin.replace("lambda w: self.out.weight.copy_(w)", "lambda v: self.out.weight.copy_(w)")
    assert constant_copies(twin) == ["self.fc.weight", "self.out.weight"]
