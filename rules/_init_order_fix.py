"""IL004's fix: move the walk after the last layer it misses, when nothing in between can tell."""

from __future__ import annotations

from typing import List, Optional, Sequence, Set, Tuple

import libcst as cst

from initlint import exprs
from initlint.diagnostic import Applicability, Fix
from initlint.fix import move_after
from initlint.imports import dotted_name
from initlint.rules._init_order import COPIES, FIX_TITLE, Context, Event, HARMLESS, READS_TREE, TENSOR_ATTRS, _Analysis, _assignments, _is_literal, _keyword, _label, _nodes, _root_attr


class _Mover:
    """Builds the fix that moves a walk after the last layer it misses, or says why it cannot."""

    def __init__(self, analysis: _Analysis, init: cst.FunctionDef, ctx: Context, events: Sequence[Event]) -> None:
        self.analysis = analysis
        self.facts = analysis.facts
        self.init = init
        self.ctx = ctx
        self.events = events

    def fix(self, walker: Event, missed: Sequence[Event]) -> Tuple[Optional[Fix], Optional[str]]:
        if walker.via == "super":
            return None, f"the init runs inside {walker.base}.__init__; call it again at the end of {self.ctx.cls}.__init__"
        body = self.init.body
        if not isinstance(body, cst.IndentedBlock):
            return None, "__init__ is written on one line; move the call by hand"
        top = walker.path[0][1]
        stmt = body.body[top]
        kind, why = self._movable(stmt, walker)
        if kind is None:
            return None, why
        last = max(layer.path[0][1] for layer in missed)
        jumped = list(body.body[top + 1 : last + 1])
        why = self._blocker(walker, top, last, jumped)
        if why is not None:
            return None, why
        edits = move_after(self.facts, stmt, body.body[last])
        return Fix(title=FIX_TITLE, edits=edits, applicability=self._applicability(stmt, kind, walker, jumped)), None

    def _movable(self, stmt: cst.CSTNode, walker: Event) -> Tuple[Optional[str], str]:
        """("call" | "guarded" | "loop", "") for a block the fix can move whole, else (None, why not)."""
        by_hand = "; move it by hand"
        if walker.via == "loop":
            return ("loop", "") if stmt is walker.stmt else (None, "the loop is nested in another statement" + by_hand)
        if not isinstance(walker.stmt, cst.Expr):
            return None, "the call's result is used" + by_hand
        if isinstance(stmt, cst.SimpleStatementLine):
            return ("call", "") if len(stmt.body) == 1 else (None, "the call shares its line with other statements" + by_hand)
        if not isinstance(stmt, cst.If) or len(walker.path) != 3:
            return None, f"the call is inside a `{_keyword(stmt)}` block" + by_hand
        if stmt.orelse is not None:
            return None, "the `if` around the call has an `else`" + by_hand
        inner = stmt.body
        if isinstance(inner, cst.SimpleStatementSuite):
            smalls: Sequence[cst.BaseSmallStatement] = inner.body
        elif len(inner.body) == 1 and isinstance(inner.body[0], cst.SimpleStatementLine):
            smalls = inner.body[0].body
        else:
            return None, "the `if` around the call holds other statements" + by_hand
        if len(smalls) != 1 or smalls[0] is not walker.stmt:
            return None, "the `if` around the call holds other statements" + by_hand
        return "guarded", ""

    # ---- what the move would jump over ------------------------------------------------------------
    def _blocker(self, walker: Event, top: int, last: int, jumped: Sequence[cst.CSTNode]) -> Optional[str]:
        for event in self.events:
            if not top < event.path[0][1] <= last or event is walker:
                continue
            if event.kind == "walker":
                return self._past(event.node, f"runs another init ({event.name})")
            if event.kind == "layer" and event.pretrained:
                return self._past(event.node, f"assigns the pretrained {event.name}, which the init would overwrite")
        assigned, read = self._effects(walker)
        for stmt in jumped:
            found = self._reads(stmt, self.ctx, assigned, read, 0)
            if found is not None:
                return self._past(found[0], found[1])
        return None

    def _past(self, node: cst.CSTNode, what: str) -> str:
        return f"it would have to move past line {self.facts.range_of(node).start.line}, which {what}"

    def _effects(self, walker: Event) -> Tuple[Set[str], Set[str]]:
        """Attributes of the model the init sets and reads (`self.<attr>`), through its calls."""
        assigned: Set[str] = set()
        read: Set[str] = set()
        seen: Set[Tuple[int, str]] = set()
        todo = list(walker.bodies)
        while todo:
            code, me, cls = todo.pop()
            if (id(code), me) in seen or len(seen) > 20:
                continue
            seen.add((id(code), me))
            methods = set(self.facts.classes[cls].methods) if cls in self.facts.classes else set()
            for node in _nodes(code.body if isinstance(code, cst.FunctionDef) else code):
                for target, _ in _assignments(node) if isinstance(node, cst.BaseSmallStatement) else ():
                    attr = _root_attr(target, me)
                    if attr:
                        assigned.add(attr)
                if isinstance(node, cst.Attribute) and _is_literal(node.value, me) and node.attr.value not in methods | READS_TREE:
                    read.add(node.attr.value)
                if isinstance(node, cst.Call):
                    target = self.analysis.callee(node, Context(cls, me))
                    if target is not None:
                        todo.append(target)
        return assigned, read

    def _reads(self, stmt: cst.CSTNode, ctx: Context, assigned: Set[str], read: Set[str], depth: int) -> Optional[Tuple[cst.CSTNode, str]]:
        """The first thing in `stmt` whose outcome depends on when the init runs, and what it does."""
        me = ctx.me
        # `self.weight = nn.Parameter(...)` makes a layer the init is meant to reach: not a use.
        made = {
            id(target)
            for node in _nodes(stmt)
            if isinstance(node, cst.BaseSmallStatement)
            for target, value in _assignments(node)
            if self.analysis.module_value(value, ctx) is not None
        }
        for node in _nodes(stmt):
            if isinstance(node, cst.Return):
                return node, "returns early"
            if isinstance(node, cst.Attribute) and id(node) not in made:
                attr = node.attr.value
                if attr in TENSOR_ATTRS or attr.startswith(("weight_", "bias_")):
                    return node, f"uses {exprs.code(node)}"
                if _is_literal(node.value, me) and attr in assigned:
                    return node, f"reads {me}.{attr}, which the init sets"
            elif isinstance(node, cst.BaseSmallStatement):
                for target, value in _assignments(node):
                    attr = _root_attr(target, me)
                    if attr in read and dotted_name(target) == f"{me}.{attr}" and self.analysis.module_value(value, ctx) is None:
                        return node, f"sets {me}.{attr}, which the init reads"
            elif isinstance(node, cst.Call):
                found = self._call_reads(node, ctx, assigned, read, depth)
                if found is not None:
                    return found
        return None

    def _call_reads(self, call: cst.Call, ctx: Context, assigned: Set[str], read: Set[str], depth: int) -> Optional[Tuple[cst.CSTNode, str]]:
        method = exprs.method_name(call)
        if method in READS_TREE:
            return call, f"calls {exprs.code(call.func)}()"
        qualname = self.facts.resolve(call.func) or dotted_name(call.func)
        if qualname in COPIES:
            return call, f"copies with {qualname}()"
        target = self.analysis.callee(call, ctx)
        if target is not None:
            if depth >= 1:
                return None
            inner = self._reads(target[0].body, Context(target[2], target[1]), assigned, read, depth + 1)
            if inner is not None:
                return call, f"calls {_label(call, ctx.me)}, which {inner[1]}"
            return None
        if any(_is_literal(a.value, ctx.me) for a in call.args) and qualname not in HARMLESS:
            return call, f"passes {ctx.me} to {exprs.code(call.func)}()"
        return None

    # ---- applicability and edits ----------------------------------------------------------------
    def _applicability(self, stmt: cst.CSTNode, kind: str, walker: Event, jumped: Sequence[cst.CSTNode]) -> Applicability:
        if kind == "loop":
            return Applicability.UNSAFE
        assigned: Set[str] = set()
        for node in jumped:
            for child in _nodes(node):
                assigned |= _bound_names(child)
        reads = set()
        if isinstance(walker.node, cst.Call):
            for arg in walker.node.args:
                reads |= exprs.names_in(arg.value)
        if kind == "guarded":
            test = stmt.test  # type: ignore[attr-defined]
            if any(isinstance(n, (cst.Call, cst.Await, cst.NamedExpr, cst.Yield)) for n in _nodes(test)):
                return Applicability.UNSAFE
            reads |= exprs.names_in(test)
        reads.discard(self.ctx.me)  # passing the model itself reads no reassigned name
        for name in reads:
            for bound in assigned:
                if name == bound or name.startswith(bound + ".") or bound.startswith(name + "."):
                    return Applicability.UNSAFE
        return Applicability.SAFE


def _bound_names(node: cst.CSTNode) -> Set[str]:
    """Dotted names a statement binds (assignment, loop and `with` targets, imports, definitions)."""
    targets: List[cst.CSTNode] = []
    if isinstance(node, cst.Assign):
        targets = [t.target for t in node.targets]
    elif isinstance(node, (cst.AnnAssign, cst.AugAssign, cst.For)):
        targets = [node.target]
    elif isinstance(node, cst.NamedExpr):
        targets = [node.target]
    elif isinstance(node, cst.WithItem) and node.asname is not None:
        targets = [node.asname.name]
    elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        return {node.name.value}
    elif isinstance(node, (cst.Import, cst.ImportFrom)) and not isinstance(node.names, cst.ImportStar):
        names = set()
        for alias in node.names:
            bound = alias.asname.name if alias.asname is not None else alias.name
            names.add((dotted_name(bound) or "").split(".", 1)[0])  # type: ignore[arg-type]
        return names
    found: Set[str] = set()
    for target in targets:
        found |= exprs.names_in(target)
    return found
