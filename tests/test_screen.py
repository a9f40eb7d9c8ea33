"""The screen never changes a finding: every rule run with the screen on and off agrees.

Over every fixture, every rule's own examples, and the benchmark corpus when it is there: by
default a deterministic sample (`bench/.corpus/sample40`: every 40th file, ~110 files), with
INITLINT_FULL_CORPUS=1 all of `bench/.corpus/src` (~4,500 files; minutes). Build the corpus with
`python bench/run_bench.py --corpus-only`. Also unit tests of the text reading the screen rests on.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import List, Set, Tuple

import pytest
from click.testing import CliRunner

from initlint import engine, screen, slicing, textscan
from initlint.cli import main
from initlint.config import Settings, all_codes

from conftest import FIXTURES, ROOT

CORPUS = ROOT / "bench" / ".corpus"
FULL = os.environ.get("INITLINT_FULL_CORPUS") == "1"


def _findings(source: str, path: str, screened: bool) -> List[Tuple]:
    return _run(source, path, screened)[0]


def _run(source: str, path: str, screened: bool) -> Tuple[List[Tuple], List[Tuple], Set[Tuple]]:
    """(findings, sites, the sites no rule can report) of one file with the screen on or off.

    The sites are what the rules judge: each site and the reading of what it writes to
    (`targets.classify`, which the rules ask of every site). Findings alone say little on real
    code, where the rules rightly find almost nothing; equal sites with equal readings show that
    the screen kept what the rules look at. (Readings the rules ask only of some sites, such as
    `randomised_later`, may differ for the others: the screen keeps what the analysis reads, not
    what it could have read.)"""
    from initlint import targets

    settings = Settings(select=all_codes(), root=str(ROOT), no_cache=True)
    seen = []
    real_collect, previous = engine._collect, engine.SCREEN

    def spy(*args, **kwargs):
        facts = real_collect(*args, **kwargs)
        seen.append(facts)
        return facts

    engine._collect, engine.SCREEN = spy, screened
    try:
        found = engine.lint_source(source, path, settings)
    finally:
        engine._collect, engine.SCREEN = real_collect, previous
    findings = [(d.code, d.location, d.end_location, d.message, d.fix) for d in found]
    sites, quiet = [], set()
    if seen:
        facts = seen[-1]  # the last round is the one the findings came from
        for site in facts.sites:
            where = facts.range_of(site.node)
            subject = targets.classify(facts, site)
            sites.append((
                site.kind, where.start.line, where.start.column, where.end.line, site.how, site.value_text,
                site.target_name, site.created, site.trainable, site.shape_text, subject,
            ))
            if _never_reportable(facts, site, subject):
                quiet.add(sites[-1])
    return findings, sorted(sites, key=repr), quiet


def _agree_source(source: str, path: str, label: str = "") -> None:
    (on, sites_on, _), (off, sites_off, quiet) = _run(source, path, True), _run(source, path, False)
    if any(f[0] == "IL901" for f in off):
        # libcst cannot parse the file: only a parse says so, and the screen may skip it.
        off = off if any(f[0] == "IL901" for f in on) else [f for f in off if f[0] != "IL901"]
        sites_on = sites_off
    assert on == off, f"{path}{label}: screen on {on} != screen off {off}"
    # The screen may leave out a constant no rule can report (`anchors._never_reported`); every
    # other site is kept, and read alike.
    left_out = Counter(sites_off) - Counter(sites_on)
    assert not Counter(sites_on) - Counter(sites_off), f"{path}{label}: the screen changed the sites or their reading"
    assert set(left_out) <= quiet, f"{path}{label}: the screen left out {sorted(set(left_out) - quiet, key=repr)}"


def _never_reportable(facts, site, subject) -> bool:
    """Whether no rule reports `site` given the whole file's facts, by reading alone: a constant a
    constructor made, not walked, that is a vector; a bias of no layer (`self.bias`, IL002 wants
    `net.fc.bias`); an unknown target but a `.weight` not created there (IL001); or a matrix that
    is neither used as one (IL001) nor flows into a product with a trainable (IL002)."""
    from initlint import targets
    from initlint.rules._common import used_as_matrix
    from initlint.rules.il002_dead_zero_layer import _derived

    if site.kind != "constant" or subject.walker is not None or "init." in site.how or site.how.startswith((".fill_", ".zero_", ".copy_", "slice")):
        return False
    if subject.kind == targets.VECTOR:
        return True
    if subject.kind == targets.BIAS:
        return subject.layer is None or subject.layer.count(".") != 1
    if subject.kind == targets.UNKNOWN:
        return site.created or not site.target_name.endswith(".weight")
    if subject.kind != targets.RAW or used_as_matrix(facts, site):
        return False
    name = site.target_name
    flow = _derived(facts, name) | {name}
    return not any(
        mine & flow and (other & facts.trainables) - {name}
        for left, right, _ in facts.matmuls for mine, other in ((left, right), (right, left))
    )


def _agree(path: Path) -> None:
    _agree_source(engine.read_source(str(path)), str(path))


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.py")), ids=lambda p: p.name)
def test_fixtures_agree(path: Path):
    _agree(path)


def _examples():
    from initlint.rules import ALL_RULES

    for rule in ALL_RULES:
        for i, code in enumerate((*rule.valid, *rule.invalid)):
            yield pytest.param(code, id=f"{rule.code}-{i}")


@pytest.mark.parametrize("code", list(_examples()))
def test_rule_examples_agree(code: str):
    assert _findings(code, "example.py", True) == _findings(code, "example.py", False)


def _corpus() -> List[Path]:
    if FULL and (CORPUS / "src").is_dir():
        return sorted((CORPUS / "src").rglob("*.py"))
    if (CORPUS / "sample40").is_dir():
        return sorted((CORPUS / "sample40").rglob("*.py"))
    if (CORPUS / "src").is_dir():  # the same sample, taken from the tree itself
        files = sorted((CORPUS / "src").rglob("*.py"), key=lambda p: p.relative_to(CORPUS / "src").as_posix())
        return files[::40]
    return []


CORPUS_FILES = _corpus()


@pytest.mark.skipif(not CORPUS_FILES, reason="no benchmark corpus: python bench/run_bench.py --corpus-only builds it")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_agrees(path: Path):
    _agree(path)


# Real code has few init bugs: seed some, so that the corpus exercises what the rules report.
MUTATIONS = (
    (re.compile(r"\b(init\.)(?:normal_|trunc_normal_|xavier_uniform_|xavier_normal_|kaiming_normal_|kaiming_uniform_|orthogonal_)\("), r"\1constant_(0.5, "),
    (re.compile(r"\.(?:normal_|uniform_)\("), ".fill_(0.5, "),
    (re.compile(r"\btorch\.(?:randn|rand|empty)\("), "torch.ones("),
    (re.compile(r"\b(init\.)(?:constant_|zeros_|ones_)\(([\w.]+)\.bias\b"), r"\1zeros_(\2.weight"),
    # A layer made after the model's init walk (IL004), where a line is just that call.
    (re.compile(r"^([ \t]+)(self\.(?:apply|init_weights|_init_weights|initialize_weights|_initialize_weights)\([^\n]*\))[ \t]*$", re.M),
     r"\1\2\n\1self.seeded_layer = nn.Linear(2, 2)"),
)


def mutate(source: str) -> str:
    """The source with init bugs seeded (it stays valid Python)."""
    for pattern, replacement in MUTATIONS:
        source = pattern.sub(replacement, source)
    return source


@pytest.mark.skipif(not CORPUS_FILES, reason="no benchmark corpus: python bench/run_bench.py --corpus-only builds it")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_seeded_corpus_agrees(path: Path):
    _agree_source(mutate(engine.read_source(str(path))), str(path), " (seeded)")


def test_parallel_output_is_deterministic():
    runner = CliRunner()
    args = ["check", "--no-cache", "--exit-zero", str(FIXTURES)]
    serial = runner.invoke(main, [*args, "--jobs", "1"])
    parallel = runner.invoke(main, [*args, "--jobs", "2"])
    assert serial.exit_code == parallel.exit_code == 0
    assert serial.output == parallel.output and serial.output.count("\n") > 10


# ---- the text reading underneath --------------------------------------------------------------
def test_code_only_blanks_strings_and_comments_and_keeps_offsets():
    text = 'a = "x#y"  # zeros_(w)\nb = r"""\nclass A:\n    zeros_(w)\n""" + \'q\\\'\' \nc = f"{d}"\n'
    code = textscan.code_only(text)
    assert len(code) == len(text) and code.count("\n") == text.count("\n")
    assert "zeros_" not in code and "class" not in code
    assert code.startswith("a = ") and "b = r" in code and "c = f" in code and "+" in code


@pytest.mark.parametrize("text", ['x = "abc\n', "x = '''abc", 'x = "a\\\\"b"\n'])
def test_code_only_refuses_what_it_cannot_lex(text: str):
    with pytest.raises(textscan.Unsure):
        textscan.code_only(text)


def test_a_string_continued_by_a_backslash():
    text = 'x = "a\\\nb"\ny = 1\n'
    assert textscan.code_only(text) == 'x =    \n  \ny = 1\n'


def test_units():
    source = (
        "import torch\n"
        "@decorate(\n"
        "    1)\n"
        "class A(\n"
        "B):\n"
        '    """doc\n'
        'class C: pass\n"""\n'
        "    x = 1\n"
        "    def __init__(self):\n"
        "        pass\n"
        "    @property\n"
        "    def p(self):\n"
        "        return (\n"
        "    1)\n"
        "def f():\n"
        "    pass\n"
        "if x:\n"
        "    pass\n"
        "else:\n"
        "    pass\n"
    )
    units = textscan.units(textscan.code_only(source))
    kinds = [(u.kind, u.name) for u in units]
    assert kinds[0] == ("module", "") and ("def", "f") in kinds and kinds[-1] == ("module", "")
    assert ("class", "A") in kinds
    assert "".join(source[u.start:u.end] for u in units) == source


def test_class_members():
    source = "class A(nn.Module):\n    x = 1\n\n    def __init__(self):\n        pass\n\n    @torch.no_grad()\n    def forward(self, x):\n        return x\n"
    units = textscan.units(textscan.code_only(source))
    assert [(u.kind, u.name) for u in units] == [("class", "A"), ("method", "__init__"), ("method", "forward")]
    assert source[units[2].start:].startswith("    @torch.no_grad()")


def test_imports_table():
    code = textscan.code_only(
        "import torch.nn as nn, os\nfrom torch.nn import (init as I,  # c\n    Linear)\nfrom . import x\nfrom torch import *\nimport a.b.c\n"
    )
    table = textscan.imports(code)
    assert table == {"nn": {"torch.nn"}, "os": {"os"}, "I": {"torch.nn.init"}, "Linear": {"torch.nn.Linear"}, "x": {".x"}, "a": {"a"}}


@pytest.mark.parametrize("path", [*sorted(FIXTURES.glob("*.py")), *CORPUS_FILES[::4]], ids=lambda p: p.name)
def test_the_text_import_table_agrees_with_the_collector(path: Path):
    """The screen reads imports from the text; it must find every binding the collector records."""
    import libcst as cst

    from initlint.imports import ImportTable

    source = engine.read_source(str(path))
    table = textscan.imports(textscan.code_only(source))
    if table is None:
        return  # not understood: the screen then assumes any name may resolve to anything
    recorded = ImportTable()
    seen = {}
    for node in _imports_in(cst.parse_module(source)):
        recorded.names = {}
        recorded.add(node)
        for local, qualified in recorded.names.items():
            seen.setdefault(local, set()).add(qualified)
    for local, qualified in seen.items():
        assert qualified <= table.get(local, set()), (local, qualified, table.get(local))


def _imports_in(module):
    import libcst as cst

    found = []

    class Imports(cst.CSTVisitor):
        def visit_Import(self, node):
            found.append(node)

        def visit_ImportFrom(self, node):
            found.append(node)

    module.visit(Imports())
    return found


def test_canonical_agrees_with_the_import_table():
    from initlint.imports import ImportTable

    table = ImportTable(["mylib.init"])
    for name in ("torch.nn.init.zeros_", "mylib.init.ones_", "..init.ones_", ".mylib.init.x", "torch.nn.modules.linear.Linear", "torch.nn.parameter.Parameter", "torch.functional.zeros", "numpy.zeros"):
        assert textscan.canonical(name, ["mylib.init"]) == table.canonical(name)


def test_plans_keep_lines_and_columns():
    source = (FIXTURES / "IL002_seed001_mnist_demo.py").read_text()
    plan = screen.plan(source)
    assert plan is not None and plan.partial
    lines = source.splitlines()
    for number, line in enumerate(plan.text().splitlines(), start=1):
        if line != slicing.MARKER:
            assert lines[plan.original_line(number) - 1] == line


def test_nothing_to_check():
    assert screen.plan("x = 1\nprint(x)\n") is None
    assert not screen.may_match("import os\n")
    # Spellings the collector cannot resolve to torch are no anchors.
    assert screen.plan("from .utils import init\ndef f(m):\n    init.zeros_(m.bias)\n") is None
    assert screen.plan("from torch.nn import init\ndef f(m):\n    init.zeros_(m.bias)\n") is not None


def test_every_rule_is_known_to_the_screen():
    """A new rule must teach initlint.screen its anchors (and RULE_CODES its code)."""
    from initlint.rules import BY_CODE

    assert set(BY_CODE) == {"IL001", "IL002", "IL003", "IL004", "IL005"}, "teach initlint/screen.py the new rule's anchors"


def test_walk_names_match_the_collector():
    from initlint import facts

    assert screen.WALKS == facts.PARAM_ITERATORS | facts.MODULE_ITERATORS | {"apply"}


def test_exact_is_words_whole():
    """`textscan.exact` (str.find) finds what `words` (a regular expression per stem) finds whole,
    at the edges of the text and of a range too."""
    texts = [p.read_text() for p in sorted(FIXTURES.glob("*.py"))[:12]]
    texts += ["weight", "weight_ weight", "xweight weight.x w weight", "a(weight)weight"]
    for text in texts:
        code = textscan.code_only(text)
        for word in ("weight", "self", "zeros_", "w", "import", "nn"):
            for start, end in ((0, len(code)), (1, len(code) - 1), (3, max(3, len(code) // 2))):
                expected = [p for p, found in textscan.words(code, word, start, end) if found == word]
                assert textscan.exact(code, word, start, end) == expected, (word, start, end)


@pytest.mark.parametrize("path", [*sorted(FIXTURES.glob("*.py")), *CORPUS_FILES[::4]], ids=lambda p: p.name)
def test_import_units_read_as_their_own_text(path: Path):
    """What each top-level unit imports, read from the whole file's import statements, is what
    reading the unit's own text gives."""
    from initlint.anchors import _File

    source = engine.read_source(str(path))
    try:
        code = textscan.code_only(source)
    except textscan.Unsure:
        return
    file = _File(source, code, ())
    expected = {}
    for i, unit in enumerate(file.units):
        if unit.kind == "module" and textscan.has_word(code, "import", unit.start, unit.end):
            table = textscan.imports(code[unit.start:unit.end])
            expected[i] = None if table is None else set(table)
    assert file.import_units() == expected


_SHAPES = [
    ("torch.zeros(d)", False), ("torch.zeros(1, d)", False), ("torch.ones(1, 1, self.dim)", False),
    ("torch.zeros((d,))", False), ("torch.full((d,), 0.5)", False), ("torch.zeros(d + 1)", False),
    ("torch.zeros(d, dtype=torch.float32)", False), ("x.new_zeros(n)", False),
    ("torch.zeros(n, d)", True), ("torch.zeros((n, d))", True), ("torch.zeros([n, d])", True),
    ("torch.zeros(shape)", True), ("torch.zeros(x.shape)", True), ("torch.zeros(*dims)", True),
    ("torch.zeros(size=(n, d))", True), ("torch.zeros(f(n))", True), ("torch.zeros(shape[0])", True),
    ("torch.zeros_like(w)", True), ("torch.full((n, d), 0.0)", True), ("torch.zeros(((n, d)))", True),
]


@pytest.mark.parametrize("call, matrix", _SHAPES)
def test_constructor_shapes_are_read_as_the_collector_reads_them(call: str, matrix: bool):
    """The screen's guess of a constant tensor's dimensions (which only decides what to keep in
    advance) says "not a matrix" only where the collector's shape has fewer than two."""
    import libcst as cst

    from initlint import exprs
    from initlint.anchors import _may_be_matrix

    word = call.split("(", 1)[0].rsplit(".", 1)[-1]
    assert _may_be_matrix(call, word, call.index(word) + len(word)) is matrix
    node = cst.parse_expression(call)
    sizes = list(exprs.positional(node))[:1] if word in ("full", "new_full") else list(exprs.positional(node))
    dims = exprs.matrix_dims(exprs.shape_of_sizes(sizes))
    if not matrix:
        assert dims is not None and dims < 2


def test_a_constant_matrix_keeps_what_randomises_it_from_the_first_round():
    source = (
        "import torch\nimport torch.nn as nn\n"
        "class M(nn.Module):\n"
        "    def __init__(self, n, d):\n"
        "        super().__init__()\n"
        "        self.pos = nn.Parameter(torch.zeros(1, n, d))\n"
        "        self.scale = nn.Parameter(torch.ones(d))\n"
        "    def reset(self):\n"
        "        nn.init.trunc_normal_(self.pos, std=0.02)\n"
        "    def rescale(self):\n"
        "        nn.init.normal_(self.scale)\n"
        "    def forward(self, x):\n"
        "        return x @ self.pos  # an operand of a product: IL001 may report it\n"
    )
    plan = screen.plan(source)
    assert plan is not None and plan.partial
    kept = {u.name for u, k in zip(plan.file.units, plan.keep) if k and u.kind == "method"}
    assert kept == {"__init__", "reset"}  # not `rescale`: `ones(d)` is a vector, never asked about
    assert engine.lint_source(source, "m.py", Settings(select=all_codes())) == []


_VECTOR_CLASS = (
    "import torch\nimport torch.nn as nn\n"
    "class Norm(nn.Module):\n"
    "    def __init__({params}):\n"
    "        super().__init__()\n"
    "        {statement}\n"
    "    def forward(self, x):\n"
    "        return x * self.scale\n"
)


@pytest.mark.parametrize("params, statement", [
    ("self, d", "self.scale = nn.Parameter(torch.ones(d))"),
    ("self, d", "self.bias = nn.Parameter(torch.zeros(d))"),
    ("self, d", "self.weight = nn.Parameter(torch.ones(d))"),
    ("self, d", "self.shift: nn.Parameter = nn.Parameter(torch.zeros(1, 1, d))"),
    ("self, d", "self.scale.data = torch.full((d,), 0.5)"),
    ("self, d", "mean = torch.zeros(d, requires_grad=False)"),
    ("self, d, /", "self.scale = nn.Parameter(torch.ones(d))"),  # no regular parameter
    ("_, /, self, d", "self.scale = nn.Parameter(torch.ones(d))"),  # the module argument is `d`
    ("self, d", "self.scale = nn.Parameter(torch.ones(d, d))"),  # a matrix no product reaches
    ("self, d", "self.bias = nn.Parameter(torch.zeros(d, d))"),
])
def test_constants_no_rule_reports_are_left_out(params: str, statement: str):
    source = _VECTOR_CLASS.format(params=params, statement=statement)
    assert screen.plan(source) is None  # nothing else to check: the file is not parsed at all
    _agree_source(source, "vectors.py")


@pytest.mark.parametrize("params, statement", [
    ("self", "self.scale = nn.Parameter(torch.ones(8))"),  # `self` may be an .apply() function's module
    ("self, *, d", "self.scale = nn.Parameter(torch.ones(d))"),
    ("_, /, self", "self.scale = nn.Parameter(torch.ones(8))"),
    ("self, d", "self.scale = nn.Parameter(torch.ones(d, d))\n    def mix(self, x):\n        return x @ self.scale"),
    ("self, d", "self.w_in = nn.Parameter(torch.ones(d, d))"),  # named like a weight (IL001)
    ("self, d", "self.hid = nn.Parameter(torch.zeros(d, d))\n        self.out = nn.Parameter(torch.randn(d, 2))\n"
     "    def mix(self, x):\n        h = x + self.hid\n        return torch.matmul(h, self.out)"),  # IL002's flow
    ("self, d", "self.weight = nn.Parameter(torch.ones(d, d))"),
    ("self, d", "self.weight.data = torch.full((d,), 0.5)"),  # a .weight not created here: IL001 may report
    ("self, d", "self.weight = nn.Parameter(torch.ones(d))\n    def reset(self):\n        self.weight = nn.Linear(4, 4)"),
    ("self, d", "self.a = m.w = nn.Parameter(torch.zeros(d))"),
    ("self, d", "m.scale = nn.Parameter(torch.zeros(d))"),
    ("self, d", "for p in self.parameters(): self.scale = nn.Parameter(torch.ones(d))"),
    ("self, d", "def inner(self): self.scale = nn.Parameter(torch.ones(d))"),
    ("self, d", "x = 1; self.scale = nn.Parameter(torch.ones(d))"),
    ("self, d", "if d: self.scale = nn.Parameter(torch.ones(d))"),
    ("self", "if self.training: pass\n        else: self.scale = nn.Parameter(torch.ones(8))"),
    ("self, d", "try: w1 = torch.full((d, d), 0.5, requires_grad=True)\n        finally: pass\n        self.h = torch.randn(4, d) @ w1"),
])
def test_constants_kept_where_a_rule_may_report(params: str, statement: str):
    source = _VECTOR_CLASS.format(params=params, statement=statement)
    plan = screen.plan(source)
    assert plan is not None
    init = next(i for i, u in enumerate(plan.file.units) if u.name == "__init__")
    assert plan.keep is None or plan.keep[init]
    _agree_source(source, "vectors.py")


_WALKS = (
    "import torch.nn as nn\n"
    "def init_all(model):\n"
    "    for m in model.modules():\n"
    "        nn.init.normal_(m.weight)\n"
    "class Net(nn.Module):\n"
    "    def __init__(self, init_weights=True):\n"
    "        super().__init__()\n"
    "{body}"
    "    def _initialize_weights(self):\n"
    "        for m in self.modules():\n"
    "            if isinstance(m, nn.Linear):\n"
    "                nn.init.normal_(m.weight, 0, 0.01)\n"
)


# IL004 has nothing to report where nothing follows the walk (the file is then not parsed at
# all), and keeps the `__init__` where something may.
_LAST, _KEPT = False, True


@pytest.mark.parametrize("body, kept", [
    ("        self.fc = nn.Linear(4, 8)\n        self._initialize_weights()\n", _LAST),
    ("        self.fc = nn.Linear(4, 8)\n        if init_weights:\n            self._initialize_weights()\n", _LAST),
    ("        self.fc = nn.Linear(4, 8)\n        for m in self.modules():\n            nn.init.normal_(m.weight)\n\n", _LAST),
    ("        self.fc = nn.Linear(4, 8)\n        self.apply(lambda m: None)\n", _LAST),
    ("        self.fc = nn.Linear(4, 8)\n        init_all(self)\n", _LAST),
    ("        self.fc = nn.Linear(4, 8)\n        self._initialize_weights()  # the end\n        # of __init__\n\n", _LAST),
    ("        self._initialize_weights()\n        self.fc = nn.Linear(4, 8)\n", _KEPT),
    ("        if init_weights:\n            self._initialize_weights()\n        self.fc = nn.Linear(4, 8)\n", _KEPT),
    ("        if init_weights: self._initialize_weights()\n        self.fc = nn.Linear(4, 8)\n", _KEPT),
    ("        self._initialize_weights(); self.fc = nn.Linear(4, 8)\n", _KEPT),
    ("        try:\n            self._initialize_weights()\n        finally:\n            self.fc = nn.Linear(4, 8)\n", _KEPT),
    ("        for m in self.modules():\n            self.apply(lambda m: None)\n            self.fc = nn.Linear(4, 8)\n", _KEPT),
    ("        init_all(self)\n        self.fc = nn.Linear(4, 8)\n", _KEPT),
    ("        self.apply(\n    lambda m: None)\n        self.fc = nn.Linear(4, 8)\n", _KEPT),
])
def test_an_init_is_kept_when_code_may_follow_its_walk(body: str, kept: bool):
    source = _WALKS.format(body=body)
    plan = screen.plan(source)
    if kept:
        assert plan is not None
        init = next(i for i, u in enumerate(plan.file.units) if u.name == "__init__")
        assert plan.keep is None or plan.keep[init]
    else:
        assert plan is None
    _agree_source(source, "net.py")


def test_a_subclass_adding_layers_after_a_walking_base_is_kept():
    source = _WALKS.format(body="        self.fc = nn.Linear(4, 8)\n        self._initialize_weights()\n") + (
        "class Bigger(Net):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.head = nn.Linear(8, 2)\n"
    )
    plan = screen.plan(source)
    assert plan is not None
    kept = {(plan.file.units[u.parent].name, u.name) for u, k in zip(plan.file.units, plan.keep or [True] * len(plan.file.units)) if k and u.kind == "method"}
    assert ("Bigger", "__init__") in kept and ("Net", "__init__") in kept
    assert [d.code for d in engine.lint_source(source, "net.py", Settings(select=all_codes()))] == ["IL004"]
    _agree_source(source, "net.py")


def test_products_are_the_statements_with_a_matrix_product():
    from initlint.anchors import _File

    source = (
        "import torch\n"
        "@torch.no_grad()\n"
        "def f(a, b):\n"
        "    return a @ b\n"
        "class A:\n"
        "    @property\n"
        "    def w(self):\n"
        "        return torch.matmul(self.x, self.y)\n"
    )
    file = _File(source, textscan.code_only(source), ())
    assert sorted(sorted(words) for words in file.products()) == [["a", "b", "return"], ["matmul", "return", "self", "torch", "x", "y"]]


@pytest.mark.parametrize("text, names", [
    ("def __init__(self):\n    self.fc = 1\n    self.g = 2\n", {"fc", "g"}),  # no annotation across lines
    ("else: x = 1", {"x"}),  # a block's header is no annotated target
    ("try: w = torch.zeros(2, 2)", {"w"}),
    ("x: Dict[str, int] = {}", {"x"}),
    ("x: Callable[[int], int] = f", {"x"}),
    ("x: (\n    int\n) = 1", {"x"}),
])
def test_assigned_reads_targets_not_block_headers(text: str, names: set):
    assert textscan.assigned(text) == names

