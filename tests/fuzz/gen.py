"""Inputs for the fuzz tests: valid PyTorch-init Python built from templates, and byte mutations.

The template generator writes what initlint looks for (layers, init calls in every spelling,
loops, guards, `apply`, forwards with relu) so that the inputs pass the screen and reach libcst,
the facts and every rule; the mutations then break those files in every way bytes can.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "fixtures"
CORPUS = ROOT / "bench" / ".corpus" / "sample40"

# (import line, prefix for `init` functions, prefix for layers, prefix for torch)
IMPORTS = [
    ("import torch\nimport torch.nn as nn\n", "nn.init.", "nn.", "torch."),
    ("import torch\nfrom torch import nn\n", "nn.init.", "nn.", "torch."),
    ("import torch\nimport torch.nn as nn\nfrom torch.nn import init\n", "init.", "nn.", "torch."),
    ("import torch as T\nimport torch.nn as nn\nimport torch.nn.init as I\n", "I.", "nn.", "T."),
    ("import torch\nimport torch.nn\n", "torch.nn.init.", "torch.nn.", "torch."),
    ("import torch\nfrom torch import nn\nfrom torch.nn.init import *\n", "", "nn.", "torch."),
]
INITS = [
    "constant_({t}, {v})", "ones_({t})", "zeros_({t})", "normal_({t}, 0, {v})", "uniform_({t}, -{v}, {v})",
    "xavier_uniform_({t})", "xavier_normal_({t}, gain={v})", "kaiming_normal_({t}, mode='fan_out', nonlinearity='relu')",
    "kaiming_uniform_({t}, a={v})", "eye_({t})", "orthogonal_({t})", "trunc_normal_({t}, std={v})", "dirac_({t})",
    "sparse_({t}, {v})",
]
METHODS = [
    "{t}.fill_({v})", "{t}.data.fill_({v})", "{t}.zero_()", "{t}.data.zero_()", "{t}.normal_(0, {v})",
    "{t}.data = {T}ones_like({t})", "{t}.copy_({T}ones({a}, {b}))", "{t}.uniform_(-{v}, {v})",
    "{t}.data.copy_({T}full(({a}, {b}), {v}))", "{t}.requires_grad_(False)",
]
VALUES = ["0", "1", "0.0", "1.0", "0.5", "-1", "1e-3", "0.01", "2 ** -4", "-0.0", "True", "math.sqrt(2)", "self.std", "x", "1_000"]
RELUS = ["F.relu({x})", "torch.relu({x})", "{x}.relu()", "self.act({x})", "{x}.clamp(min=0)", "nn.functional.relu({x})", "F.gelu({x})", "torch.tanh({x})"]
NAMES = ["fc", "fc1", "fc2", "conv", "conv1", "proj", "head", "emb", "norm", "bn", "lin_out", "w", "layer_0", "ŵ"]


@st.composite
def shapes(draw) -> List[str]:
    return [draw(st.sampled_from(["1", "3", "4", "8", "16", "64", "d", "d_in", "d * 2", "0", "-1", "n"])) for _ in range(2)]


@st.composite
def layer(draw, nn: str) -> str:
    a, b = draw(shapes())
    return draw(st.sampled_from([
        f"{nn}Linear({a}, {b})", f"{nn}Linear({a}, {b}, bias=False)", f"{nn}Conv2d({a}, {b}, 3)",
        f"{nn}Conv1d(in_channels={a}, out_channels={b}, kernel_size=5)", f"{nn}BatchNorm1d({a})", f"{nn}LayerNorm({a})",
        f"{nn}Embedding({a}, {b})", f"{nn}Parameter(torch.ones({a}, {b}))", f"{nn}Parameter(torch.zeros({a}))",
        f"{nn}Parameter(torch.randn({a}, {b}))", f"{nn}Parameter(torch.full(({a}, {b}), 0.5))", f"{nn}Sequential({nn}Linear({a}, {b}), {nn}ReLU())",
        f"{nn}ModuleList([{nn}Linear({a}, {a}) for _ in range({b})])", f"{nn}LSTM({a}, {b})", f"{nn}MultiheadAttention({a}, 2)",
    ]))


@st.composite
def init_call(draw, init: str, torch: str, target: str) -> str:
    value = draw(st.sampled_from(VALUES))
    a, b = draw(shapes())
    if draw(st.booleans()):
        return init + draw(st.sampled_from(INITS)).format(t=target, v=value)
    return draw(st.sampled_from(METHODS)).format(t=target, v=value, T=torch, a=a, b=b)


def _indent(lines: List[str], by: str = "    ") -> List[str]:
    return [by + line if line else line for line in lines]


@st.composite
def block(draw, init: str, nn: str, torch: str, names: List[str], depth: int = 0) -> List[str]:
    """Statements that may appear in an `__init__` or an init helper."""
    out: List[str] = []
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from(names))
        attr = draw(st.sampled_from(["weight", "bias", "weight.data", "bias.data", "weight_ih_l0", "in_proj_weight"]))
        kind = draw(st.integers(0, 9 if depth < 2 else 3))
        if kind <= 2:
            out.append(draw(init_call(init, torch, f"self.{name}.{attr}")))
        elif kind == 3:
            out.append(f"self.{name} = {draw(layer(nn))}")
        elif kind == 4:
            body = [draw(init_call(init, torch, "m.weight"))]
            if draw(st.booleans()):
                body.append("if m.bias is not None:")
                body.append("    " + draw(init_call(init, torch, "m.bias")))
            cls = draw(st.sampled_from(["Linear", "Conv2d", "BatchNorm2d", "Embedding", "(nn.Linear, nn.Conv2d)"]))
            cls = cls if cls.startswith("(") else nn + cls
            loop = draw(st.sampled_from(["self.modules()", "self.children()", "self.named_modules()", "[self.fc1, self.fc2]"]))
            var = "_, m" if "named" in loop else "m"
            out += [f"for {var} in {loop}:", f"    if isinstance(m, {cls}):"] + _indent(body, "        ")
        elif kind == 5:
            target = draw(st.sampled_from(["p", "param", "p.data"]))
            loop = draw(st.sampled_from(["self.parameters()", "self.named_parameters()", "list(self.parameters())[:-1]"]))
            var = "name, p" if "named" in loop else "p"
            out += [f"for {var} in {loop}:", "    if p.dim() > 1:", "        " + draw(init_call(init, torch, target))]
        elif kind == 6:
            inner = draw(block(init, nn, torch, names, depth + 1))
            guard = draw(st.sampled_from(["if init_weights:", "if self.zero_init:", "with torch.no_grad():", "while False:", "try:"]))
            out += [guard] + _indent(inner)
            if guard == "try:":
                out += ["except Exception:", "    pass"]
            elif guard.startswith("if") and draw(st.booleans()):
                out += ["else:"] + _indent(draw(block(init, nn, torch, names, depth + 1)))
        elif kind == 7:
            out.append(draw(st.sampled_from(["self._init_weights()", "self.apply(self._init)", "self.apply(init_fn)", "self.reset_parameters()", "super().__init__()"])))
        elif kind == 8:
            out.append(f"self.register_parameter('{name}', {draw(layer(nn))})")
        else:
            out.append(draw(st.sampled_from(["pass", "x = 1", "self.std = 0.02", "del self.fc", "assert d > 0", "self.act = nn.ReLU()", "print('init')"])))
    return out


@st.composite
def model_class(draw, spec) -> List[str]:
    imports, init, nn, torch = spec
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    cls = draw(st.sampled_from(["Net", "Model", "Block", "MLP", "Ünïcode"]))
    base = draw(st.sampled_from([f"{nn}Module", f"{torch}nn.Module", "Base", "nn.Sequential"]))
    args = draw(st.sampled_from(["self", "self, d=4", "self, d_in, d_out, init_weights=True", "self, *args, **kw", "self, d, /, n=2, *, std=0.02"]))
    body = ["super().__init__()"] if draw(st.booleans()) else []
    body += [f"self.{n} = {draw(layer(nn))}" for n in names if draw(st.booleans())]
    body += draw(block(init, nn, torch, names))
    body += [f"self.{n} = {draw(layer(nn))}" for n in names if draw(st.booleans())]
    lines = [f"class {cls}({base}):", f"    def __init__({args}):"] + _indent(body, "        ")
    if draw(st.booleans()):
        helper = draw(st.sampled_from(["_init_weights(self)", "_init(self, m)", "reset_parameters(self)"]))
        lines += ["", f"    def {helper}:"] + _indent(draw(block(init, nn, torch, names)), "        ")
    if draw(st.booleans()):
        x = "x"
        forward = []
        for n in names[:3]:
            forward.append(f"x = self.{n}(x)")
            forward.append("x = " + draw(st.sampled_from(RELUS)).format(x=x))
        forward.append(draw(st.sampled_from(["return x", "return x @ self.w", "return torch.matmul(x, self.fc.weight)", "return F.linear(x, self.w)"])))
        lines += ["", "    def forward(self, x):"] + _indent(forward, "        ")
    return lines


@st.composite
def module_level(draw, spec) -> List[str]:
    _, init, nn, torch = spec
    a, b = draw(shapes())
    return draw(st.sampled_from([
        [f"W = {torch}ones({a}, {b}, requires_grad=True)", "h = X @ W"],
        [f"fc = {nn}Linear({a}, {b})", draw(init_call(init, torch, "fc.weight"))],
        [f"W = {torch}full(({a}, {b}), 0.5)", f"y = {torch}relu(x @ W)"],
        ["def init_fn(m):", "    if isinstance(m, nn.Linear):", "        " + draw(init_call(init, torch, "m.weight"))],
        ["model = Net()", "model.apply(init_fn)"],
        ["with torch.no_grad():", "    " + draw(init_call(init, torch, "model.fc.weight"))],
        [f"X = {torch}randn(10, {a})", f"W1 = {torch}zeros({a}, {b}, requires_grad=True)", "out = torch.relu(X @ W1)"],
        ["if __name__ == '__main__':", "    main()"],
        [f"W1 = {torch}zeros({a}, {b}, requires_grad=True)", f"W2 = {torch}randn({b}, 3, requires_grad=True)",
         "def net(X):", f"    H = {torch}relu(X @ W1)", "    return H @ W2"],
        ["with torch.no_grad():", f"    fc.weight.copy_({torch}randn(1, {a}).repeat({b}, 1))",
         f"    fc.weight.data = {torch}tile({torch}randn({a}), ({b}, 1))"],
        [f"W = {nn}Parameter({torch}randn({a}).unsqueeze(0).expand({b}, -1).clone())"],
    ]))


@st.composite
def pytorch_source(draw) -> str:
    """A whole file of syntactically valid PyTorch model code."""
    spec = draw(st.sampled_from(IMPORTS))
    lines = spec[0].splitlines()
    lines += draw(st.sampled_from([[], ["import math"], ["import torch.nn.functional as F"], ["import math", "import torch.nn.functional as F"]]))
    for _ in range(draw(st.integers(1, 3))):
        lines.append("")
        lines += draw(st.one_of(model_class(spec), module_level(spec)))
    text = "\n".join(lines) + "\n"
    return draw(layout(text))


@st.composite
def layout(draw, text: str) -> str:
    """The same code with other bytes around it: comments, blank lines, CRLF, tabs, form feeds."""
    style = draw(st.integers(0, 5))
    if style == 1:
        text = text.replace("\n", "\r\n")
    elif style == 2:
        text = text.replace("    ", "\t")
    elif style == 3:
        text = "# -*- coding: utf-8 -*-\n" + text.replace("\n\n", "\n\x0c\n")
    elif style == 4:
        text = text.replace("\n", "  # noqa: IL001\n", draw(st.integers(0, 5)))
    elif style == 5:
        text = text.replace(")\n", ")  # initlint: ignore[IL004]\n", 2).replace("\n", "\n\n", 3)
    return text


# ---- byte-level mutations of real files ----------------------------------------------------------

# Bytes and fragments that trip tokenizers and parsers.
# (hypothesis favours the first entries: the reader's refusals, NUL and bad UTF-8, come last)
NASTY = [
    b"\r", b"\r\n", b"\n", b"\t", b"\x0c", b"\x0b", b"\x1c", b"\xef\xbb\xbf", b"\xc3", b"\xe2\x80\xa8",
    b"(", b")", b"[", b"{", b":", b"\\", b"\\\n", b'"""', b"'", b"#", b"@", b"lambda", b"yield", b"await", b"async ",
    b"    ", b"\n    ", b"nn.init.constant_(self.fc.weight, 1)\n", b"self.fc = nn.Linear(3, 3)\n", b"match x:\n    case 1:\n        pass\n",
    b"# -*- coding: latin-1 -*-\n", b"# coding: klingon\n", b"print 'x'\n", b"f'{", b"\xf0\x9f\x94\xa5", b"$", b"?", b"`",
    b"\x00", b"\xff",
]


def seed_files() -> List[Path]:
    """The real files mutations start from: the fixtures and, when present, the benchmark sample."""
    files = sorted(FIXTURES.glob("*.py"))
    if CORPUS.is_dir():
        corpus = sorted(p for p in CORPUS.rglob("*.py") if p.stat().st_size < 60_000)
        files += corpus[:: max(1, len(corpus) // 60)]  # a spread of them, not all
    return files


@st.composite
def mutated(draw, seeds: List[bytes]) -> bytes:
    """A real file with a few byte-level edits: flips, inserts, deletes, duplicated and swapped lines, truncation."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        # Mostly text-level damage: a non-UTF-8 byte ends the run at the reader (IL902), which is tested, but shallow.
        op = draw(st.sampled_from([0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 7]))
        at = draw(st.integers(0, len(data)))
        if op == 0:
            data[at:at] = draw(st.sampled_from(NASTY))
        elif op == 1:
            data[at:at + draw(st.integers(1, 40))] = b""
        elif op == 2 and data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
        elif op == 3:
            data[at:at] = draw(st.text(max_size=6)).encode("utf-8")
        elif op == 7 and data:
            data[min(at, len(data) - 1)] = ord(draw(st.sampled_from("()[]{}:,.=+-*@\\'\" \t\n#0aA_")))
        elif op == 4:
            lines = bytes(data).splitlines(keepends=True)
            if len(lines) > 1:
                i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
                data = bytearray(b"".join(lines))
        elif op == 5:
            lines = bytes(data).splitlines(keepends=True)
            if lines:
                i = draw(st.integers(0, len(lines) - 1))
                lines.insert(i, lines[i])
                data = bytearray(b"".join(lines))
        elif op == 6:
            data = data[:at]
    return bytes(data)
