"""initlint.positions: the range of a reported node, from its own statement's code only, equals
libcst's PositionProvider's (which generates the code of the whole module) on every node."""

from __future__ import annotations

import random
from pathlib import Path

import libcst as cst
import pytest

from initlint import positions, walk
from initlint.parsing import parse_module

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted((ROOT / "fixtures").glob("*.py"))
SAMPLE = ROOT / "bench" / ".corpus" / "sample40"
CORPUS_FILES = sorted(SAMPLE.rglob("*.py")) if SAMPLE.is_dir() else []

# Layouts where a statement's start, indentation or generated code is easy to get wrong.
ODD = {
    "decorated_async": "@decorator(\n    1,\n    2)\n@other\nasync def f(x):  # c\n    return await x\n",
    "elif_chain": "if a:\n    pass\nelif b:\n    x = 1\nelif c: y = 2\nelse:\n    if d:\n        z = 3\n    elif e:  w = 4\n    else: v = 5\n",
    "suites_and_semicolons": "import a; import b\nif x: y = 1; z = 2\nfor i in r: print(i); continue\n",
    "try_handlers": (
        "try:\n    pass\nexcept ValueError as e:\n    a = e\nexcept (TypeError,\n        KeyError):\n    b = 1\n"
        "else:\n    c = 2\nfinally:\n    d = \\\n        3\n"
    ),
    "try_star": "try:\n    pass\nexcept* ValueError:\n    e = 1\n",
    "match": "match x:\n    case [1, 2]:\n        m = 1\n    case {'a': b} if b:\n        m = 2\n    case _:\n        pass\n",
    "with_for_while_else": (
        "async def f():\n    async with g() as h, k():\n        async for i in h:\n            print(i)\n        else:\n            pass\n"
        "    while x:\n        break\n    else:\n        x = 0\n"
    ),
    "tabs_and_continuations": "class C(Base, metaclass=M):\n\tdef f(self):\n\t\treturn [\n  1,\n      2]\n\tdef g(self): return 1\n",
    "unicode_before_nodes": "x = 'é' + \"😀\" + f(1)\ny = {'ü': [g(2), h(3)]}\nclass É:\n    ä = 'ö'; ß = k(4)\n",
    "multiline_strings": 'def f():\n    s = """a\nb\n    c""" + t(1)\n    return s\n',
    "crlf": "import torch\r\nclass A:\r\n    def f(self):\r\n        if x:\r\n            y = 'é'; z = torch.zeros(3)\r\n",
    "cr_only": "import torch\rx = 1\rif x:\r    y = torch.ones(2)\r",
    "form_feed_line": "class A:\n    x = 1\n\x0c\n    def f(self):\n        return g(1)\n",
    "comments_and_blank_lines": "# head\n\n\nclass A:\n    # lead\n\n    def f(self):  # tail\n        # inside\n        return 1  # end\n# last\n",
    "custom_indent": "class A:\n      def f(self):\n        return 1\n      def g(self):\n                return [2,\n        3]\n",
}


def _pairs(text: str, limit: int = 0):
    """(locator's range, PositionProvider's range, node) for the significant nodes of `text`."""
    module = parse_module(text)
    whole = positions.whole_module(module)
    locator = positions.Locator(module, text)
    nodes = [node for node in walk.nodes(module) if node is not module]
    if limit and len(nodes) > limit:
        nodes = random.Random(0).sample(nodes, limit)
    for node in nodes:
        yield locator._targeted(node), whole[node], node


def _check(text: str, limit: int = 0) -> int:
    count = 0
    for got, want, node in _pairs(text, limit):
        assert got is not None, f"{type(node).__name__} fell back to the whole module's positions"
        assert got == want, f"{type(node).__name__}: {got} != {want}"
        count += 1
    return count


@pytest.mark.parametrize("name", sorted(ODD))
def test_odd_layouts(name: str) -> None:
    assert _check(ODD[name]) > 3


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixtures(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    try:
        parse_module(text)
    except cst.ParserSyntaxError:
        pytest.skip("a fixture libcst cannot parse")
    _check(text)


@pytest.mark.skipif(not CORPUS_FILES, reason="no benchmark corpus: python bench/run_bench.py --corpus-only builds it")
@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    try:
        parse_module(text)
    except Exception:  # noqa: BLE001 - the corpus has a few files libcst cannot take
        pytest.skip("libcst cannot parse it")
    _check(text, limit=300)


def test_a_mismatch_takes_the_whole_modules_answer() -> None:
    # Texts that are not the one the tree was parsed from: the locator must notice (another
    # statement structure, other code where CPython puts the statement, no text, no Python) and
    # answer as PositionProvider does, never with a place in the wrong code.
    module = parse_module("a = 1\nb = f(2)\n")
    call = next(node for node in walk.nodes(module) if isinstance(node, cst.Call))
    for text in ("b = f(2)\n", "a = 1\nb = g(2)\n", "if a:\n    b = f(2)\n", None, "this is not python ("):
        locator = positions.Locator(module, text)
        assert locator._targeted(call) is None, text
        assert locator.range_of(call) == positions.whole_module(module)[call]


def test_nodes_outside_the_tree_are_refused() -> None:
    module = parse_module("a = f(1)\n")
    stranger = cst.Name("stranger")
    locator = positions.Locator(module, "a = f(1)\n")
    assert locator._targeted(stranger) is None
    with pytest.raises(KeyError):
        locator.range_of(stranger)


def test_only_the_statement_is_generated(monkeypatch) -> None:
    # The point of the locator: a node's range costs its own statement's code, not the file's.
    lines = [f"x{i} = f({i})\n" for i in range(200)]
    text = "".join(lines)
    module = parse_module(text)
    target = module.body[150]
    generated = []
    real = cst.SimpleStatementLine._codegen

    def counting(self, state, **kwargs):
        generated.append(self)
        return real(self, state, **kwargs)

    monkeypatch.setattr(cst.SimpleStatementLine, "_codegen", counting)
    found = positions.Locator(module, text).range_of(target)
    assert generated == [target]
    assert (found.start.line, found.start.column, found.end.line) == (151, 0, 151)
