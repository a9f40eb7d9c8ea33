"""Generated worst cases for the screen and the analysis: each `make(n)` returns a file with n of
its repeated element. tests/test_screen.py checks that the screen agrees on them (small n);
bench/worst_cases.py times them at growing n against a plain libcst parse (time per kB must stay
flat: every pass linear)."""

from __future__ import annotations

from typing import Callable, Dict


def op_table(n: int) -> str:
    """A module-level table of op entries with lambdas that build constant tensors (PyTorch's
    own op-info test tables look like this)."""
    rows = [
        f"    dict(name='op{i}', sample=lambda d, t: torch.ones(3, 3, device=d, dtype=t, requires_grad=True), "
        f"ref=lambda x: x * {i}, skip=('cuda', {i % 7})),"
        for i in range(n)
    ]
    return "import torch\n\nOPS = [\n" + "\n".join(rows) + "\n]\n"


def init_calls(n: int) -> str:
    """One `__init__` with n layers, each initialised by its own call."""
    body = []
    for i in range(n):
        body.append(f"        self.fc{i} = nn.Linear(8, 8)")
        body.append(f"        nn.init.constant_(self.fc{i}.bias, 0.0)")
    return (
        "import torch.nn as nn\n\n\nclass Wide(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        + "\n".join(body)
        + "\n\n    def forward(self, x):\n        return self.fc0(x)\n"
    )


def deep_model(n: int) -> str:
    """One model of n layers: each made and initialised in `__init__` (zero bias; one constant
    weight in the middle), and `forward` feeding each into the next through a ReLU."""
    body, flow = [], []
    for i in range(n):
        body.append(f"        self.fc{i} = nn.Linear(8, 8)")
        body.append(f"        nn.init.zeros_(self.fc{i}.bias)")
        flow.append(f"        x = torch.relu(self.fc{i}(x))")
    body.append(f"        nn.init.constant_(self.fc{n // 2}.weight, 0.5)")
    return (
        "import torch\nimport torch.nn as nn\n\n\nclass Deep(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        + "\n".join(body)
        + "\n\n    def forward(self, x):\n"
        + "\n".join(flow)
        + "\n        return x\n"
    )


def nested_classes(n: int) -> str:
    """n classes, each a layer of the one before, with a forward that calls it."""
    out = ["import torch\nimport torch.nn as nn\n"]
    for i in range(n):
        inner = f"Block{i - 1}()" if i else "nn.Linear(4, 4)"
        out.append(
            f"\nclass Block{i}(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            f"        self.inner = {inner}\n        self.scale = nn.Parameter(torch.ones(4))\n\n"
            f"    def forward(self, x):\n        return self.inner(x) * self.scale\n"
        )
    return "".join(out)


def small_functions(n: int) -> str:
    """n small top-level functions, each calling the one before; one of them zeroes a tensor."""
    out = ["import torch\n"]
    for i in range(n):
        call = f"f{i - 1}(x)" if i else "x"
        extra = "    x.zero_()\n" if i == n // 2 else ""
        out.append(f"\ndef f{i}(x):\n{extra}    return {call} + {i}\n")
    return "".join(out)


def subclass_chain(n: int) -> str:
    """A base whose `__init__` walks the tree, then n subclasses, each derived from the one
    before; the one in the middle adds a layer after the walk (one finding), the others set a
    plain attribute."""
    out = [
        "import torch.nn as nn\n\n\nclass Base(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.apply(self._init)\n\n    def _init(self, m):\n        if isinstance(m, nn.Linear):\n"
        "            nn.init.zeros_(m.bias)\n"
    ]
    for i in range(n):
        parent = f"Sub{i - 1}" if i else "Base"
        added = f"nn.Linear(2, 2)" if i == n // 2 else str(i)
        out.append(f"\n\nclass Sub{i}({parent}):\n    def __init__(self):\n        super().__init__()\n        self.x{i} = {added}\n")
    return "".join(out)


def module_flow(n: int) -> str:
    """A script: a zero matrix, then n module-level statements each reading the one before."""
    out = ["import torch\n\nX = torch.randn(8, 4)\nW0 = torch.zeros(4, 4, requires_grad=True)\nH0 = X @ W0\n"]
    for i in range(1, n):
        out.append(f"H{i} = torch.relu(H{i - 1}) + {i}\n")
    out.append(f"W_out = torch.randn(4, 2, requires_grad=True)\nout = H{n - 1} @ W_out\n")
    return "".join(out)


def shared_names(n: int) -> str:
    """n classes in a chain of subclasses, each assigning `self.w` in `__init__` and copying it
    into a parameter in a method of its own, then n functions each copying a `w` of its own: every
    reading resolves a name through the bindings of its scope and of its class's relatives (the one
    in the middle copies a constant)."""
    out = [
        "import torch\nimport torch.nn as nn\n\n\nclass Base(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.p = nn.Parameter(torch.randn(4, 4))\n"
    ]
    for i in range(n):
        parent = f"Chain{i - 1}" if i else "Base"
        value = "torch.ones(4, 4)" if i == n // 2 else "torch.randn(4, 4)"
        out.append(
            f"\n\nclass Chain{i}({parent}):\n    def __init__(self):\n        super().__init__()\n        self.w = {value}\n\n"
            f"    def reset{i}(self):\n        with torch.no_grad():\n            self.p.copy_(self.w)\n"
        )
    for i in range(n):
        out.append(f"\n\ndef helper{i}(t):\n    w = torch.randn(4, 4)\n    t.copy_(w)\n    return t\n")
    return "".join(out)


def subscript_lines(n: int) -> str:
    """n subscripts and reads of layer tensors (`x[:, ::2, ...][:, :]`, `m.weight[:, 0]`,
    `m.bias_hh[::1, :]`), half on lines of their own and half on one long line, with one
    whole-slice write of a number in the middle: the screen's slice-write and layer-tensor
    patterns start a match at every `[` and `.weight`, and no attempt may run past its line."""
    terms = [f"x[:, ::2, ...][:, :] + m.weight[:, {i}] * m.bias_hh[::1, :]" for i in range(n)]
    half = n // 2
    out = ["import torch\nimport torch.nn as nn\n\n\ndef f(x, m):\n"]
    out.extend(f"    y{i} = {term}\n" for i, term in enumerate(terms[:half]))
    out.append("    with torch.no_grad():\n        m.weight.data[:, :] = 0.5\n")
    out.append("    z = [" + ", ".join(terms[half:]) + "]\n    return z\n")
    return "".join(out)


CASES: Dict[str, Callable[[int], str]] = {
    "op_table": op_table,
    "init_calls": init_calls,
    "deep_model": deep_model,
    "nested_classes": nested_classes,
    "small_functions": small_functions,
    "subclass_chain": subclass_chain,
    "module_flow": module_flow,
    "shared_names": shared_names,
    "subscript_lines": subscript_lines,
}
