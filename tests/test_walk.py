"""initlint.walk must answer exactly what libcst answers, only faster: children in libcst's order,
visits in libcst's order with the same hooks, and nothing but trivia left out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, List

import libcst as cst
import pytest

from initlint import walk

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "bench" / ".corpus" / "sample40"

TRICKY = '''
@decorator(a, b=1)
class A(Base, metaclass=M):
    """doc"""
    x: int = 1
    def f(self, a, /, b=2, *args, c: "int" = 3, **kw) -> None:
        y = a if b else c
        z = [i for i in range(3) if i if not i]
        d = {k: v for k, v in kw.items()}
        s = {*args}
        t = (1,)
        lam = lambda q, *r: q
        w = x[1:2, ::3] @ m
        with open(p) as fh, ctx():
            pass
        try:
            raise E from e
        except (A, B) as err:
            pass
        else:
            pass
        finally:
            del y
        async def g():
            async for i in it:
                await i
        return f"{a!r:>{b}}" "tail"
match command:
    case [x, *rest] if x > 0:
        pass
    case {"k": v, **kw} | Point(x=0):
        pass
import a.b as c
from . import (d, e as f)
global_var: list[int] = [1, 2]
print(*a, **b, sep="")
'''


def _sources() -> Iterator[str]:
    yield TRICKY
    for folder in (REPO / "fixtures", SAMPLE):
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.py")):
            yield path.read_text(encoding="utf-8", errors="replace")


def _modules() -> Iterator[cst.Module]:
    for source in _sources():
        try:
            yield cst.parse_module(source)
        except Exception:  # noqa: BLE001 - a fixture may be broken on purpose
            continue


def _all_nodes(module: cst.Module) -> Iterator[cst.CSTNode]:
    stack: List[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)


def test_children_and_significant_match_libcst_on_every_node():
    checked = 0
    for module in _modules():
        for node in _all_nodes(module):
            expected = list(node.children)
            got = list(walk.children(node))
            assert len(got) == len(expected) and all(a is b for a, b in zip(got, expected)), type(node).__name__
            kept = [c for c in expected if type(c) not in walk.TRIVIA]
            significant = walk.significant(node)
            assert len(significant) == len(kept) and all(a is b for a, b in zip(significant, kept)), type(node).__name__
            checked += 1
    assert checked > 10_000


class _Recorder(cst.CSTVisitor):
    """Records every hook call, and prunes below every `Lambda` to check that False still skips."""

    def __init__(self) -> None:
        super().__init__()
        self.events: List[tuple] = []

    def on_visit(self, node: cst.CSTNode) -> bool:  # libcst's path: every node
        self.events.append(("visit", id(node)))
        return not isinstance(node, cst.Lambda)

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.events.append(("leave", id(original_node)))


class _Typed(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.events: List[tuple] = []

    def visit_Call(self, node: cst.Call) -> None:
        self.events.append(("call", id(node)))

    def leave_Call(self, original_node: cst.Call) -> None:
        self.events.append(("/call", id(original_node)))

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self.events.append(("lambda", id(node)))
        return False

    def visit_Name(self, node: cst.Name) -> None:
        self.events.append(("name", node.value))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.events.append(("/class", original_node.name.value))


def test_visit_calls_the_same_hooks_in_the_same_order_as_libcst():
    for module in _modules():
        ours, theirs = _Typed(), _Typed()
        walk.visit(module, ours)
        module.visit(theirs)
        assert ours.events == theirs.events


def test_visit_leaves_out_trivia_only():
    module = cst.parse_module(TRICKY)
    theirs = _Recorder()
    module.visit(theirs)
    by_id = {id(n): n for n in _all_nodes(module)}
    expected = [(kind, i) for kind, i in theirs.events if type(by_id[i]) not in walk.TRIVIA]

    class Spy(cst.CSTVisitor):
        pass

    # walk.visit dispatches on visit_<Type>: give a spy one hook per node type met.
    seen: List[tuple] = []
    kinds = {type(n) for n in by_id.values()} - walk.TRIVIA
    for kind in kinds:
        def enter(self, node, _kind=kind):
            seen.append(("visit", id(node)))
            return not isinstance(node, cst.Lambda)

        def leave(self, node, _kind=kind):
            seen.append(("leave", id(node)))

        setattr(Spy, f"visit_{kind.__name__}", enter)
        setattr(Spy, f"leave_{kind.__name__}", leave)
    walk.visit(module, Spy())
    assert seen == expected
    assert len(seen) < len(theirs.events)  # the trivia were really passed by


def test_a_visitor_that_wants_trivia_is_refused():
    class WantsCommas(cst.CSTVisitor):
        def visit_Comma(self, node: cst.Comma) -> None:
            pass

    with pytest.raises(TypeError, match="visit_Comma"):
        walk.visit(cst.parse_module("f(a, b)\n"), WantsCommas())


def test_nodes_skips_nested_definitions_but_not_the_root():
    module = cst.parse_module("def outer():\n    f()\n    def inner():\n        g()\n    class C:\n        h()\n")
    outer = module.body[0]
    names = [n.func.value for n in walk.nodes(outer, skip=(cst.FunctionDef, cst.ClassDef)) if isinstance(n, cst.Call)]
    assert names == ["f"]
    assert [n.func.value for n in walk.nodes(outer) if isinstance(n, cst.Call)] == ["f", "g", "h"]


def test_hook_tables_do_not_keep_per_file_visitor_types_alive():
    import gc

    gc.collect()
    before = len(walk._HOOKS)
    for _ in range(50):
        kind = type("PerFile", (cst.CSTVisitor,), {"visit_Name": lambda self, node: None})
        walk.visit(cst.parse_module("x = y\n"), kind())
    del kind
    gc.collect()
    assert len(walk._HOOKS) <= before + 1


@pytest.mark.skipif(not os.environ.get("INITLINT_FULL_CORPUS"), reason="INITLINT_FULL_CORPUS=1: every corpus file")
def test_children_and_significant_match_libcst_on_the_full_corpus():
    corpus = REPO / "bench" / ".corpus" / "src"
    if not corpus.is_dir():
        pytest.skip("no corpus: python bench/run_bench.py --corpus-only")
    for path in sorted(corpus.rglob("*.py")):
        try:
            module = cst.parse_module(path.read_text(encoding="utf-8"))
        except Exception:  # noqa: BLE001
            continue
        for node in _all_nodes(module):
            expected, got = list(node.children), list(walk.children(node))
            assert len(got) == len(expected) and all(a is b for a, b in zip(got, expected)), (path, type(node).__name__)
            kept, significant = [c for c in expected if type(c) not in walk.TRIVIA], walk.significant(node)
            assert len(significant) == len(kept) and all(a is b for a, b in zip(significant, kept)), (path, type(node).__name__)


def test_the_order_table_is_libcsts_own():
    """initlint/_walk_orders.py is extracted from the installed libcst's source; a libcst upgrade
    that changes an order must regenerate it (`python -m initlint.walk > initlint/_walk_orders.py`)."""
    from libcst._version import __version__

    from initlint import _walk_orders

    if __version__ != _walk_orders.LIBCST_VERSION:
        assert walk._TABLE is None  # another libcst: the table is not used, orders are learnt
        pytest.skip(f"table made for libcst {_walk_orders.LIBCST_VERSION}, {__version__} installed")
    assert walk._TABLE is _walk_orders.ORDERS
    assert walk.extract_orders() == _walk_orders.ORDERS
    assert walk.extract_trivial(_walk_orders.ORDERS) == _walk_orders.TRIVIAL
    assert _walk_orders.TRIVIAL["Call"] == ("lpar", "whitespace_after_func", "whitespace_before_args", "rpar")


def test_learnt_orders_match_libcst_without_the_table(monkeypatch):
    """The road taken for another libcst version: every order learnt from a real `children`."""
    monkeypatch.setattr(walk, "_TABLE", None)
    monkeypatch.setattr(walk, "_ORDERS", {})
    checked = 0
    for source in [TRICKY] + [p.read_text(encoding="utf-8") for p in sorted((REPO / "fixtures").glob("*.py"))]:
        try:
            module = cst.parse_module(source)
        except Exception:  # noqa: BLE001
            continue
        for node in _all_nodes(module):
            expected, got = list(node.children), list(walk.children(node))
            assert len(got) == len(expected) and all(a is b for a, b in zip(got, expected)), type(node).__name__
            checked += 1
    assert checked > 1_000 and walk._ORDERS
