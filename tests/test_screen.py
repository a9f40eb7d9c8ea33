"""The screen never changes a finding: every rule run with the screen on and off agrees.

Over every fixture, every rule's own examples, generated worst cases, and the benchmark corpus
when it is there: by default a deterministic sample (`bench/.corpus/sample40`: every 40th file,
~110 files), with INITLINT_FULL_CORPUS=1 all of `bench/.corpus/src` (~4,500 files; minutes) and the
Python sources of the installed torch (another large code base). Build the corpus with
`python bench/run_bench.py --corpus-only`. Also unit tests of the text reading the screen rests on,
and a toy rule that the screen knows only by its declaration.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import List, Tuple

import pytest
from click.testing import CliRunner

from initlint import engine, screen, textscan
from initlint.cli import main
from initlint.config import Settings, all_codes
from initlint.parsing import cpython_tree

from conftest import FIXTURES, ROOT

CORPUS = ROOT / "bench" / ".corpus"
FULL = os.environ.get("INITLINT_FULL_CORPUS") == "1"


def _findings(source: str, path: str, screened: bool) -> List[Tuple]:
    return _run(source, path, screened)[0]


def _run(source: str, path: str, screened: bool, rules=None) -> Tuple[List[Tuple], List[Tuple]]:
    """(findings, sites) of one file with the screen on or off.

    The sites are what the rules judge: each site and the reading of what it writes to
    (`targets.classify`, which the rules ask of every site). Findings alone say little on real
    code, where the rules rightly find almost nothing; equal sites with equal readings show that
    the screen kept what the rules look at."""
    from initlint import targets

    extra = tuple(rule.code for rule in rules or () if rule.code not in all_codes())
    settings = Settings(select=all_codes() + extra, root=str(ROOT), no_cache=True)
    seen = []
    real_collect, previous = engine._collect, engine.SCREEN

    def spy(*args, **kwargs):
        facts = real_collect(*args, **kwargs)
        seen.append(facts)
        return facts

    engine._collect, engine.SCREEN = spy, screened
    try:
        found = engine.lint_source(source, path, settings, rules)
    finally:
        engine._collect, engine.SCREEN = real_collect, previous
    findings = [(d.code, d.location, d.end_location, d.message, d.fix) for d in found]
    sites = []
    if seen:
        facts = seen[-1]  # the last round is the one the findings came from
        for site in facts.sites:
            if site.kind not in ("constant", "repeat"):
                continue  # (random and unknown writes are context: kept where a judged site needs them)
            where = facts.range_of(site.node)
            subject = targets.classify(facts, site)
            sites.append((
                site.kind, where.start.line, where.start.column, where.end.line, site.how, site.value_text,
                site.target_name, site.created, site.trainable, site.shape_text, subject,
            ))
    return findings, sorted(sites, key=repr)


def _agree_source(source: str, path: str, label: str = "") -> None:
    (on, sites_on), (off, sites_off) = _run(source, path, True), _run(source, path, False)
    if any(f[0] == "IL901" for f in off):
        # libcst cannot parse the file: only a parse says so, and the screen may skip it.
        off = off if any(f[0] == "IL901" for f in on) else [f for f in off if f[0] != "IL901"]
        sites_on = sites_off
    assert on == off, f"{path}{label}: screen on {on} != screen off {off}"
    missing = Counter(sites_off) - Counter(sites_on)
    assert not missing, f"{path}{label}: the screen left out or changed the sites {sorted(missing, key=repr)}"
    assert not Counter(sites_on) - Counter(sites_off), f"{path}{label}: the screen changed the sites or their reading"


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


def _torch_sources() -> List[Path]:
    """The installed torch's own Python files (a large code base that is not in the corpus)."""
    import importlib.util

    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted(Path(list(spec.submodule_search_locations)[0]).rglob("*.py"))


def _corpus() -> List[Path]:
    if FULL and (CORPUS / "src").is_dir():
        return sorted((CORPUS / "src").rglob("*.py")) + _torch_sources()
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
    # Writes no word spells: a whole-slice write of a number, a layer's tensor assigned a constant.
    (re.compile(r"^([ \t]+)([\w.\[\]]+)\.data\.zero_\(\)[ \t]*$", re.M), r"\1\2.data[:] = 0"),
    (re.compile(r"^([ \t]+)([\w.\[\]]+\.weight)\.data\.(?:normal_|uniform_)\([^\n]*\)[ \t]*$", re.M), r"\1\2.data = torch.zeros_like(\2.data)"),
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
    assert kinds == [("module", ""), ("class", "A"), ("method", "__init__"), ("method", "p"), ("def", "f"), ("module", "")]
    assert units[0].imports and units[0].defines == {"torch"}
    assert units[1].bases == {"B"} and units[1].defines == {"A"} and units[2].parent == units[3].parent == 1
    assert "".join(source[u.start:u.end] for u in units) == source


def test_class_members():
    source = "class A(nn.Module):\n    x = 1\n\n    def __init__(self):\n        pass\n\n    @torch.no_grad()\n    def forward(self, x):\n        return x\n"
    units = textscan.units(textscan.code_only(source))
    assert [(u.kind, u.name) for u in units] == [("class", "A"), ("method", "__init__"), ("method", "forward")]
    assert source[units[2].start:].startswith("    @torch.no_grad()")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("x = 1\n", {"x"}),
        ("a, b = f()\n", {"a", "b"}),
        ("w: Tensor = torch.ones(2)\n", {"w"}),
        ("for i, layer in enumerate(xs):\n    net = layer\n", {"i", "layer", "net"}),
        ("with open(p) as handle:\n    pass\n", {"handle"}),
        ("if (n := len(x)) > 1:\n    def helper(): pass\n", {"n", "helper"}),
        ("from torch import nn, optim as o\n", {"nn", "o"}),
        ("net.fc.weight = p\n", set()),
    ],
)
def test_what_a_module_statement_binds(text: str, names: set):
    """A superset of what the statement binds (the screen keeps too much rather than too little)."""
    (unit,) = textscan.units(textscan.code_only(text))
    assert names <= unit.defines


def _kept(source: str, needs) -> str:
    plan = screen.plan(source, needs)
    assert plan is not None
    return plan.text()


def test_plans_keep_lines_and_columns():
    from initlint.rules import ALL_RULES

    source = (FIXTURES / "IL004_base_subclass.py").read_text()
    text = _kept(source, [rule.needs for rule in ALL_RULES])
    lines, kept = source.splitlines(), text.splitlines()
    assert len(lines) == len(kept)
    for line, original in zip(kept, lines):
        assert line in ("", original) or line.strip() == "pass"


DROPPED_CLASS_SOURCE = """\
import torch.nn as nn
from torch.nn import init


class Helper:
    def __init__(self):
        self.x = 1

    def method(self):
        return self.x


def build(m):
    init.zeros_(m.weight)
"""


def test_a_dropped_class_leaves_no_indented_line():
    """A dropped method keeps its class a body with `pass`, only where the class is kept: a
    dropped class's methods are blank lines, or the cut text would not parse and the file would
    be parsed twice (the cut, then whole)."""
    from initlint.rules import ALL_RULES

    plan = screen.plan(DROPPED_CLASS_SOURCE, [rule.needs for rule in ALL_RULES])
    assert plan is not None and plan.partial and "class Helper" not in plan.text()
    assert "pass" not in plan.text() and _parses(plan.text())


def _parses(text: str) -> bool:
    try:
        cpython_tree(text)
    except SyntaxError:
        return False
    return True


def test_every_cut_text_parses():
    """The cut the screen makes of each fixture and corpus file is Python where the file is: a cut
    that is not makes the engine parse the file twice (the cut, then whole)."""
    from initlint.rules import ALL_RULES

    needs = [rule.needs for rule in ALL_RULES]
    cut = 0
    for path in sorted(FIXTURES.glob("*.py")) + CORPUS_FILES:
        source = engine.read_source(str(path))
        plan = screen.plan(source, needs)
        if plan is None or not plan.partial:
            continue
        cut += 1
        assert _parses(plan.text()) or not _parses(source), f"{path}: the cut does not parse, the file does"
    assert cut > 5


def test_nothing_to_check():
    from initlint.rules import ALL_RULES

    needs = [rule.needs for rule in ALL_RULES]
    assert screen.plan("x = 1\nprint(x)\n", needs) is None
    assert not screen.may_match("import os\n", needs)
    # A trigger in a string or a comment is no seed.
    assert screen.plan("import torch\n'''zeros_(w)'''\nx = 1  # fill_(0)\n", needs) is None
    assert screen.plan("from torch.nn import init\ndef f(m):\n    init.zeros_(m.bias)\n", needs) is not None


def test_every_rule_declares_what_the_screen_needs():
    """A rule without `needs` is parsed whole everywhere (never starved); every rule of ours declares."""
    from initlint.rules import ALL_RULES

    for rule in ALL_RULES:
        assert isinstance(rule.needs, screen.Needs), rule.code
        assert rule.needs.triggers or rule.needs.patterns or rule.needs.paired, rule.code


def test_the_screen_modules_name_no_rule():
    """The fast path is generic: no rule code in the screen or the text reading under it."""
    for module in ("screen.py", "textscan.py"):
        text = (ROOT / "initlint" / module).read_text()
        assert not re.search(r"\bIL\d{3}\b", text), module


# ---- a rule the screen knows only by its declaration -------------------------------------------
TOY_SOURCE = """\
import torch
import torch.nn as nn

DEPTH = 3


def build(width):
    return nn.Linear(width, width)


class Base(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = build(DEPTH)


class Net(Base):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        return self.head(self.proj(x))

    def frobnicate_(self):
        self.head.weight.frobnicate_()


class Unrelated(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(x)


def main():
    net = Net()
    net.frobnicate_()
"""


def _toy_rule(follow=frozenset(), needs=None):
    """A rule unknown to the screen: it reports every call of `frobnicate_`, with the names of
    the classes, functions and module-level constants the parsed file holds (what it could read)."""
    import libcst as cst

    from initlint.rule import Finding, Rule

    needs_given = needs

    class Toy(Rule):
        """
        ## What it does
        Reports `frobnicate_`.

        ## Why is this bad?
        A test.

        ## Example
        ```python
        w.frobnicate_()
        ```

        ## Use instead
        ```python
        pass
        ```
        """

        code = "IL999"
        name = "toy"
        message = "frobnicate_ in {seen}"
        needs = screen.Needs(triggers=frozenset({"frobnicate_"}), follow=frozenset(follow))
        if needs_given is not None:
            needs = needs_given

        def check(self, facts):
            seen = sorted(facts.classes) + sorted(
                s.name.value for s in facts.module.body if isinstance(s, cst.FunctionDef)
            )
            calls = []

            class Calls(cst.CSTVisitor):
                def visit_Call(self, node):
                    if isinstance(node.func, cst.Attribute) and node.func.attr.value == "frobnicate_":
                        calls.append(node)

            facts.module.visit(Calls())
            return [Finding(call, self.message.format(seen=", ".join(seen))) for call in calls]

    return Toy


@pytest.mark.parametrize("follow", [frozenset(), frozenset({"users"}), frozenset({"subclasses", "class"})])
def test_a_toy_rule_known_only_by_its_declaration_is_never_starved(follow):
    toy = _toy_rule(follow)
    on, _ = _run(TOY_SOURCE, "toy.py", True, [toy])
    off, _ = _run(TOY_SOURCE, "toy.py", False, [toy])
    assert on and len(on) == 2
    # What the seeds reach: the class of the seed method, its base and the helper the base calls,
    # and `main`, which calls it; `Unrelated` is dropped with the screen on (the toy sees that).
    assert all("Base" in f[3] and "Net" in f[3] and "build" in f[3] for f in on)
    assert [f[:3] for f in on] == [f[:3] for f in off]
    plan = screen.plan(TOY_SOURCE, [toy.needs])
    assert plan is not None and plan.partial and "class Unrelated" not in plan.text()


PAIRED_SOURCE = """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.setup()

    def setup(self):
        self.deeper()

    def deeper(self):
        self.fc.frobnicate_()

    def forward(self, x):
        x.frobnicate_()  # no `glue` here, and nothing reaching one calls forward
        return self.fc(x)


def wrap(x):
    return glue(x)


def made():
    return wrap(torch.frobnicate_(3))


def lonely():
    return torch.frobnicate_(3)
"""


@pytest.mark.parametrize("calls", [1, 2])
def test_a_toy_rule_of_paired_words_is_never_starved(calls):
    """A site spelt by a word only where another kind of word meets it (`torch.zeros` where it
    becomes an `nn.Parameter`): in the unit, or `pair_calls` calls apart in either direction."""
    needs = screen.Needs(paired=frozenset({"frobnicate_"}), pair_with=frozenset({"__init__", "glue"}), pair_calls=calls)
    toy = _toy_rule(needs=needs)
    on, _ = _run(PAIRED_SOURCE, "toy.py", True, [toy])
    off, _ = _run(PAIRED_SOURCE, "toy.py", False, [toy])
    assert len(off) == 4  # the toy reports every spelling; the screen keeps the paired ones
    assert {f[1].row for f in on} <= {f[1].row for f in off}
    plan = screen.plan(PAIRED_SOURCE, [needs])
    assert plan is not None and plan.partial
    kept = plan.text().splitlines()
    deeper, made, lonely = 14, 26, 30  # (lines of the sites)
    assert "frobnicate_" in kept[made - 1]  # `made` -> `wrap` (holds `glue`): one call apart
    assert "frobnicate_" not in kept[lonely - 1]  # nothing pairs it
    # `__init__` -> `setup` -> `deeper`: two calls apart
    assert ("frobnicate_" in kept[deeper - 1]) == (calls == 2)
    if calls == 2:
        assert {deeper, made} <= {f[1].row for f in on}


PATTERN_PAIRED_SOURCE = """\
import torch


def assigned(m):
    m.glue = torch.frobnicate_(3)


def read(m):
    return m.glue + torch.frobnicate_(3)


def helper():
    return torch.frobnicate_(3)


def caller(m):
    m.glue = helper()
"""


def test_a_toy_rule_paired_with_a_pattern_is_never_starved():
    """The pair_with side spelt by a pattern (`.glue = `, as `.weight = ` for the constant rules):
    the word alone (`m.glue` read) pairs nothing; an assignment pairs, in the unit or a call apart;
    a file with the word but no assignment is dropped whole."""
    needs = screen.Needs(paired=frozenset({"frobnicate_"}), pair_patterns=(r"\.glue\s*=(?!=)",))
    toy = _toy_rule(needs=needs)
    on, _ = _run(PATTERN_PAIRED_SOURCE, "toy.py", True, [toy])
    off, _ = _run(PATTERN_PAIRED_SOURCE, "toy.py", False, [toy])
    assert len(off) == 3
    assert sorted(f[1].row for f in on) == [5, 13]  # `assigned`, and `helper` (`caller` assigns it)
    plan = screen.plan(PATTERN_PAIRED_SOURCE, [needs])
    assert plan is not None and plan.partial and "m.glue + torch" not in plan.text()
    assert screen.plan(PATTERN_PAIRED_SOURCE.replace("m.glue = ", "m.glue == "), [needs]) is None
    with pytest.raises(ValueError):
        screen.Needs(pair_patterns=(r"\.glue\s*=",))  # a pattern pairs nothing without paired words


# Spellings of a constant site that no trigger word spells (the constant rules' patterns), each a
# site the collector makes; and look-alikes that are no site, where the screen must drop the file.
_PATTERN_SITES = (
    "w[:] = 0.5",
    "w[...] = 1",
    "w[:, :] = -1",
    "w[::2] = 0",
    "w[ : , ... ] = True",
    "w[(...)] = 0",
    "w.data[:] = (1.0)",
    "w[:] = \\\n        2",
    "m.weight.data = torch.zeros(4, 4)",
    "m.weight_ih_l0.data = torch.ones(4, 4) * 0.5",
    "m.bias: torch.Tensor = torch.full((4,), 0.1)",
    "m.weight = w0.expand(4, 4)",
)
_NOT_SITES = (
    "x[:, 0] = y",
    "x[:] = y",
    "x[1:] = 0",
    "x[:n] = 0",
    "y = torch.zeros(4) + m.weight.sum() + m.bias.data.norm()",
    "m.scale = torch.zeros(4)",
)


def _in_function(line: str) -> str:
    return f"import torch\n\n\ndef f(m, w, w0, x, y, n):\n    with torch.no_grad():\n        {line}\n    return m\n"


@pytest.mark.parametrize("line", _PATTERN_SITES)
def test_the_constant_patterns_keep_every_spelling_the_collector_takes(line: str):
    source = _in_function(line)
    _, sites = _run(source, "spelt.py", False)
    assert sites, f"{line!r} is no site: the test's premise"
    _agree_source(source, "spelt.py")


@pytest.mark.parametrize("line", _NOT_SITES)
def test_the_constant_patterns_drop_what_is_no_site(line: str):
    from rules._declarations import CONSTANT_OR_ROWS

    source = _in_function(line)
    assert not _run(source, "spelt.py", False)[1]
    assert screen.plan(source, [CONSTANT_OR_ROWS]) is None


READS_SOURCE = """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.frob = []

    def forward(self, x):
        return self.fc(x)


class Other(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.empty(3))

    def forward(self, x):
        return x * self.w
"""


def test_each_declaration_keeps_the_methods_it_reads_and_no_more():
    """A class kept for its construction (`reads={"__init__"}`) keeps no `forward`, even in a file
    where another rule's class keeps its own: each declaration has its own closure."""
    construction = screen.Needs(triggers=frozenset({"frob"}), reads=frozenset({"__init__"}))
    model = screen.Needs(triggers=frozenset({"empty"}))
    alone = screen.plan(READS_SOURCE, [construction])
    both = screen.plan(READS_SOURCE, [construction, model])
    assert alone is not None and both is not None
    lines = both.text().splitlines()
    assert "self.fc(x)" not in alone.text() and "self.frob = []" in alone.text()
    assert "return self.fc(x)" not in lines[10] and "return x * self.w" in lines[19]


def test_a_rule_runs_only_on_files_where_its_declaration_has_a_seed():
    """Two toy rules on one file that spells only the first one's trigger: with the screen on the
    second one never runs there (no trigger, no site); with it off, it runs and finds nothing."""
    first = _toy_rule()
    second = _toy_rule(needs=screen.Needs(triggers=frozenset({"defrobnicate_"})))
    second.code, ran = "IL998", []

    def counting(self, facts):
        ran.append(facts)
        return []  # (true to its declaration: no `defrobnicate_`, no finding)

    second.check = counting
    on, _ = _run(TOY_SOURCE, "toy.py", True, [first, second])
    assert on and not ran
    off, _ = _run(TOY_SOURCE, "toy.py", False, [first, second])
    assert [f[:3] for f in on] == [f[:3] for f in off] and len(ran) == 1
    plan = screen.plan(TOY_SOURCE, [first.needs, second.needs])
    assert plan is not None and plan.applies(first.needs) and not plan.applies(second.needs)


def test_a_rule_without_a_declaration_parses_the_whole_file():
    toy = _toy_rule()
    toy.needs = None
    on, _ = _run(TOY_SOURCE, "toy.py", True, [toy])
    assert on and all("Unrelated" in f[3] for f in on)


# ---- generated worst cases: the screen agrees on them (their timings: bench/worst_cases.py) -----
def test_worst_cases_agree():
    from worst_cases import CASES

    for name, make in CASES.items():
        _agree_source(make(40), f"{name}.py", f" (worst case {name})")


RECEIVER_SOURCE = """\
import torch
import torch.nn as nn


class Packed(torch.Tensor):
    def __new__(cls, data):
        self = torch.Tensor._make_subclass(cls, data, False)
        return self


class Quantized(nn.Linear):
    def __init__(self, n, m):
        super().__init__(n, m)
        self.weight = nn.Parameter(torch.ones(m, n), requires_grad=False)
"""


def test_a_methods_receiver_is_never_read_from_a_binding_elsewhere():
    """`self` in a method is the method's object: the file-wide bindings (here another class's
    `self = torch.Tensor._make_subclass(...)` in `__new__`) say nothing of it. Read through them,
    the reading changed with what the screen kept (found on diffusers' bfl/utils.py, seeded)."""
    _, sites_on = _run(RECEIVER_SOURCE, "receiver.py", True)
    _, sites_off = _run(RECEIVER_SOURCE, "receiver.py", False)
    assert sites_on == sites_off and len(sites_off) == 1
    subject = sites_off[0][-1]
    assert subject.label == "self.weight" and subject.layer_type is None
