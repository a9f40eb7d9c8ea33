"""Where a reported node is, without generating the code of the whole file.

libcst's PositionProvider learns a node's range by generating the code of the whole module and
recording every node's start and end on the way: two to three parses' worth of time on a model
file, paid in full for one finding. Here only the innermost statement holding the node is
generated, from the state the full generation would have there:

- the statement's first line comes from CPython's parser (a tenth of libcst's cost), matched to
  libcst's tree statement by statement (module and block bodies, `elif`, `else`, handlers,
  `finally`, `case`s; a line of `a; b` is several statements for CPython);
- the indentation in force is that of the blocks around it (each `IndentedBlock`'s and `match`'s
  own, or the module's default), as libcst's generator would have pushed it;
- generation stops once the node's range is known.

The code generated must be the text where CPython puts the statement. Where anything does not
line up (a text CPython refuses, a tree whose statements do not match, a node no statement holds,
generated code that is not the text there) the file takes PositionProvider's answer. tests/test_positions.py compares both on every node of the fixtures and the
benchmark corpus sample.
"""

from __future__ import annotations

import ast
import re
from typing import Dict, Iterator, List, Mapping, Optional, Tuple

import libcst as cst
from libcst.metadata import CodePosition, CodeRange
from libcst.metadata import MetadataWrapper, PositionProvider

from initlint import walk
from initlint.parsing import cpython_tree


def whole_module(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """PositionProvider's answer for every node of `module`. Resolving it through a MetadataWrapper
    also walks the whole tree once more for the (here empty) batch of batchable providers, which
    costs as much as the positions themselves: run the provider's codegen pass alone when this
    libcst version still has the hooks, else take the documented road."""
    provider = PositionProvider()
    generate = getattr(provider, "_gen_impl", None)
    if generate is not None and isinstance(getattr(provider, "_computed", None), dict):
        generate(module)
        return provider._computed
    return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


class _Found(Exception):
    """Raised through libcst's generator once the node's range is known."""


# The libcst compound statement types and the CPython node types each may be.
_COMPOUND = {
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef),
    cst.ClassDef: (ast.ClassDef,),
    cst.If: (ast.If,),
    cst.For: (ast.For, ast.AsyncFor),
    cst.While: (ast.While,),
    cst.With: (ast.With, ast.AsyncWith),
    cst.Try: (ast.Try,),
    cst.Match: (ast.Match,),
}
if hasattr(cst, "TryStar") and hasattr(ast, "TryStar"):
    _COMPOUND[cst.TryStar] = (ast.TryStar,)
# Every CPython compound statement type those stand for (a simple statement is none of them).
_CPYTHON_COMPOUND = tuple(kind for kinds in _COMPOUND.values() for kind in kinds)


class Locator:
    """Ranges of nodes of one parsed module (`text`: the text libcst parsed it from)."""

    def __init__(self, module: cst.Module, text: Optional[str]) -> None:
        self.module, self.text = module, text
        self._whole: Optional[Mapping[cst.CSTNode, CodeRange]] = None
        self._parents: Dict[int, cst.CSTNode] = {}
        self._pending: List[cst.CSTNode] = [module]
        self._tree: Optional[ast.Module] = None
        self._starts: Optional[List[int]] = None
        self._known: Dict[int, Tuple[cst.CSTNode, CodeRange]] = {}
        self._usable = text is not None and _TARGETED

    def range_of(self, node: cst.CSTNode) -> CodeRange:
        """libcst's PositionProvider range of `node` (1-based lines, 0-based columns)."""
        if self._whole is not None:
            return self._whole[node]
        known = self._known.get(id(node))
        if known is not None and known[0] is node:
            return known[1]
        found = self._targeted(node) if self._usable else None
        if found is None:
            self._usable = False  # one mismatch: this file takes the provider's answer throughout
            self._whole = whole_module(self.module)
            return self._whole[node]
        self._known[id(node)] = (node, found)
        return found

    # ---- one node -------------------------------------------------------------------------------
    def _targeted(self, node: cst.CSTNode) -> Optional[CodeRange]:
        path = self._path(node)
        if path is None:
            return None
        # the innermost statement holding the node (the node itself, if it is one)
        inner = next((i for i in range(len(path) - 1, -1, -1) if isinstance(path[i], cst.BaseStatement)), None)
        if inner is None:
            return None
        located = self._statement_start(path[: inner + 1])
        if located is None:
            return None
        line, column = located
        # the indentation libcst's generator has pushed there: every indented block's and every
        # `match`'s (its cases are indented), each its own or the module's default
        indents = [
            self.module.default_indent if block.indent is None else block.indent
            for block in path[:inner]
            if isinstance(block, (cst.IndentedBlock, cst.Match))
        ]
        statement = path[inner]
        elif_ = isinstance(statement, cst.If) and isinstance(path[inner - 1], cst.If) and path[inner - 1].orelse is statement
        found = _generate(self.module, statement, node, indents, elif_)
        if found is None:
            return None
        start, generated, where = found
        shift = line - start.line
        # The code generated (from the line the statement's leading lines start on) must be the
        # text there, and the statement start where CPython says: else the tree and the text do
        # not match, and nothing here can be trusted.
        starts = self._line_starts()
        if start.column != column or not 0 <= shift < len(starts) or not (self.text or "").startswith(generated, starts[shift]):
            return None
        return CodeRange(
            CodePosition(where.start.line + shift, where.start.column),
            CodePosition(where.end.line + shift, where.end.column),
        )

    def _path(self, node: cst.CSTNode) -> Optional[List[cst.CSTNode]]:
        """The nodes from the module down to `node`, or None when it is not in the tree."""
        parents, pending = self._parents, self._pending
        # The parents map grows by a walk that stops at the node (source order: a node early in
        # the file costs little) and goes on from there for the next one: one walk at most.
        while id(node) not in parents and pending:
            current = pending.pop()
            below = walk.significant(current)
            for child in below:
                parents[id(child)] = current
            below.reverse()
            pending.extend(below)
        path = [node]
        while path[-1] is not self.module:
            parent = parents.get(id(path[-1]))
            if parent is None:
                return None
            path.append(parent)
        path.reverse()
        return path

    def _cpython(self) -> Optional[ast.Module]:
        if self.text is None:
            return None
        if self._tree is None:
            try:
                self._tree = cpython_tree(self.text)  # type: ignore[arg-type]
            except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
                return None
        return self._tree

    def _statement_start(self, path: List[cst.CSTNode]) -> Optional[Tuple[int, int]]:
        """(line, column) where CPython puts the first token of the last statement on `path`
        (the module, the nodes between, the statement), matched statement by statement."""
        tree = self._cpython()
        if tree is None:
            return None
        target: Optional[ast.AST] = None
        body: List[ast.stmt] = tree.body
        for index in range(1, len(path)):
            current, parent = path[index], path[index - 1]
            if not isinstance(current, cst.BaseStatement):
                continue
            if isinstance(current, cst.If) and isinstance(parent, cst.If) and parent.orelse is current:
                # `elif`: CPython's `orelse` holds one If
                if not (isinstance(target, ast.If) and len(target.orelse) == 1 and isinstance(target.orelse[0], ast.If)):
                    return None
                target = target.orelse[0]
                continue
            statements = _siblings(path, index)
            if statements is None:
                return None
            if target is not None:
                below = _cpython_body(target, path, index)
                if below is None:
                    return None
                body = below
            position = 0
            for sibling in statements:
                if sibling is current:
                    break
                position += len(sibling.body) if isinstance(sibling, cst.SimpleStatementLine) else 1
            if position >= len(body):
                return None
            found = body[position]
            kinds = _COMPOUND.get(type(current))
            if kinds is None:
                if not isinstance(current, cst.SimpleStatementLine) or isinstance(found, _CPYTHON_COMPOUND):
                    return None
            elif not isinstance(found, kinds):
                return None
            target = found
        if target is None:
            return None
        line = target.lineno
        starts = self._line_starts()
        if not 1 <= line <= len(starts):
            return None
        # CPython's columns count UTF-8 bytes; libcst's count characters
        text = self.text or ""
        here = text[starts[line - 1] : starts[line] if line < len(starts) else len(text)]
        column = len(here.encode("utf-8")[: target.col_offset].decode("utf-8", "replace"))
        return line, column

    def _line_starts(self) -> List[int]:
        """Where each line starts in the text (CR LF, CR and LF end a line for the parsers;
        nothing else does)."""
        if self._starts is None:
            self._starts = [0] + [m.end() for m in _LINE_END.finditer(self.text or "")]
        return self._starts


_LINE_END = re.compile(r"\r\n|\r|\n")


def _siblings(path: List[cst.CSTNode], index: int) -> Optional[Tuple[cst.BaseStatement, ...]]:
    """The statements of the body that holds path[index] (a module's or an indented block's)."""
    holder = path[index - 1]
    if isinstance(holder, (cst.Module, cst.IndentedBlock)):
        return tuple(holder.body)  # type: ignore[arg-type]
    return None


def _cpython_body(target: ast.AST, path: List[cst.CSTNode], index: int) -> Optional[List[ast.stmt]]:
    """CPython's list of statements that matches the block holding path[index], below the
    compound statement `target` (the last statement on the path before it)."""
    block = path[index - 1]
    # the libcst node right below the enclosing compound statement: the block, or what holds it
    j = index - 1
    while j > 0 and not isinstance(path[j - 1], cst.BaseCompoundStatement):
        j -= 1
    if j <= 0:
        return None
    owner, part = path[j - 1], path[j]
    if part is block and getattr(owner, "body", None) is block:
        return getattr(target, "body", None)
    if isinstance(part, cst.Else) and getattr(owner, "orelse", None) is part:
        return getattr(target, "orelse", None)
    if isinstance(part, cst.Finally) and getattr(owner, "finalbody", None) is part:
        return getattr(target, "finalbody", None)
    for field in ("handlers", "cases"):  # an `except` (or `except*`) clause, a `case`
        position = next((i for i, item in enumerate(getattr(owner, field, ())) if item is part), None)
        if position is not None:
            cpython = getattr(target, field, None)
            return cpython[position].body if cpython is not None and position < len(cpython) else None
    return None


def _generate(
    module: cst.Module, statement: cst.CSTNode, node: cst.CSTNode, indents: List[str], elif_: bool
) -> Optional[Tuple[CodePosition, str, CodeRange]]:
    """Generate `statement`'s code from the state the whole module's generation has there, until
    `node`'s range is known: (where the statement starts, the code generated, the node's range),
    lines counted from the first generated line (its leading blank lines and comments). `elif_`: the
    statement is an `elif` (its parent If generates it so)."""
    state = _State(
        default_indent=module.default_indent,
        default_newline=module.default_newline,
        provider=_Provider(),
        indent_tokens=list(indents),
    )
    state.statement, state.target = statement, node
    try:
        if elif_:
            statement._codegen(state, is_elif=True)
        else:
            statement._codegen(state)
    except _Found:
        pass
    if state.statement_start is None or state.found is None:
        return None
    return state.statement_start, "".join(state.tokens), state.found


class _Provider:
    """What the generator state records into (PositionProvider's `_computed`)."""

    def __init__(self) -> None:
        self._computed: Dict[cst.CSTNode, CodeRange] = {}


try:
    from libcst.metadata.position_provider import PositionProvidingCodegenState as _Base

    _TARGETED = all(hasattr(_Base, name) for name in ("record_syntactic_position", "before_codegen", "after_codegen", "_update_position"))
except ImportError:  # pragma: no cover - another libcst layout: PositionProvider throughout
    _Base = object  # type: ignore[assignment,misc]
    _TARGETED = False


if _TARGETED:
    from contextlib import contextmanager

    class _State(_Base):  # type: ignore[misc,valid-type]
        """PositionProvider's generator state, starting inside the module at a statement and
        stopping at the node (line numbers relative until CPython's line is known)."""

        __slots__ = ("statement", "target", "statement_start", "found")

        def __init__(self, **kwargs) -> None:
            super().__init__(**kwargs)
            self.statement: Optional[cst.CSTNode] = None
            self.target: Optional[cst.CSTNode] = None
            self.statement_start: Optional[CodePosition] = None
            self.found: Optional[CodeRange] = None

        @contextmanager
        def record_syntactic_position(self, node, *, start_node=None, end_node=None) -> Iterator[None]:
            start = CodePosition(self.line, self.column)
            if node is self.statement:
                self.statement_start = start
                if self.found is not None:
                    raise _Found
            yield  # (an exception thrown in goes on out: nothing is recorded for this node)
            computed = self.provider._computed
            end = CodePosition(self.line, self.column)
            start = computed[start_node].start if start_node is not None else start
            end = computed[end_node].end if end_node is not None else end
            computed[node] = CodeRange(start, end)

        def after_codegen(self, node) -> None:
            super().after_codegen(node)
            if node is self.target:
                self.found = self.provider._computed[node]
                if self.statement_start is not None:
                    raise _Found
