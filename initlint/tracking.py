"""Recording what the analysis reads from the facts, for `initlint.slicing.Plan.providers`; the
stand-ins of the classes the screen dropped; positions mapped back to the source."""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Dict, Optional, Set, Tuple

from initlint.textscan import Lazy, Unsure

if TYPE_CHECKING:  # pragma: no cover
    from initlint.slicing import Plan

MARKER_COMMENT = "# initlint: screened-out classes"
MARKER = "pass  " + MARKER_COMMENT


# ---- tracking what the analysis reads --------------------------------------------------------
class Reads(dict):
    """Fact kind -> the keys read, or None when the whole collection was read.

    Also, per (kind, key): `until`, the last top-level statement (its index among the parsed
    module's) during whose visit it was read, absent when it was also read after the visit (the
    rules) or where the visit's position is not known: a unit after it cannot have changed the
    answer; `readers`, the names of the functions that read it. `created`: the constant tensors
    created trainable (IL002 follows data flow from the zero ones)."""

    created: Optional[Set[str]] = None

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.position: Optional[int] = None  # set by the collector, None after the visit
        self.until: Dict[Tuple[str, str], int] = {}
        self.late: Set[Tuple[str, str]] = set()
        self.readers: Dict[Tuple[str, str], Set[str]] = {}

    def key(self, kind: str, key, reader: str = "?") -> None:
        keys = self.setdefault(kind, set())
        if keys is None:
            return
        key = key if isinstance(key, str) else repr(key)
        keys.add(key)
        pair = (kind, key)
        if self.position is None:
            self.late.add(pair)
        else:
            self.until[pair] = max(self.until.get(pair, -1), self.position)
        self.readers.setdefault(pair, set()).add(reader)

    def bound(self, kind: str, key: str) -> Optional[int]:
        """The last statement before which a unit could have changed this read, None: any."""
        pair = (kind, key)
        return None if pair in self.late or pair not in self.until else self.until[pair]

    def everything(self, kind: str) -> None:
        self[kind] = None


def _reader(base, kind_attr="_kind"):
    def by_key(name):
        method = getattr(base, name)

        def read(self, key, *args):
            self._reads.key(self._kind, key, sys._getframe(1).f_code.co_name)
            return method(self, key, *args)

        read.__name__ = name
        return read

    def whole(name):
        method = getattr(base, name)

        def read(self, *args, **kwargs):
            self._reads.everything(self._kind)
            return method(self, *args, **kwargs)

        read.__name__ = name
        return read

    return by_key, whole


_key_dict, _all_dict = _reader(dict)
_key_set, _all_set = _reader(set)
_key_list, _all_list = _reader(list)


class TrackedDict(dict):
    """A dict that records which keys are read (writes are not reads)."""

    get = _key_dict("get")
    __getitem__ = _key_dict("__getitem__")
    __contains__ = _key_dict("__contains__")
    pop = _key_dict("pop")
    keys = _all_dict("keys")
    values = _all_dict("values")
    items = _all_dict("items")
    __iter__ = _all_dict("__iter__")
    __len__ = _all_dict("__len__")
    __eq__ = _all_dict("__eq__")
    copy = _all_dict("copy")
    __hash__ = None  # type: ignore[assignment]


class TrackedSet(set):
    """A set that records membership tests that fail, and any use of the whole set. (A test that
    succeeds needs no record: the facts' sets only grow, so with more of the file it would too.)"""

    def __contains__(self, key) -> bool:
        found = set.__contains__(self, key)
        if not found:
            self._reads.key(self._kind, key, sys._getframe(1).f_code.co_name)
        return found

    __iter__ = _all_set("__iter__")
    __len__ = _all_set("__len__")
    __and__ = _all_set("__and__")
    __rand__ = _all_set("__rand__")
    __or__ = _all_set("__or__")
    __ror__ = _all_set("__ror__")
    __sub__ = _all_set("__sub__")
    __rsub__ = _all_set("__rsub__")
    __xor__ = _all_set("__xor__")
    __rxor__ = _all_set("__rxor__")
    __eq__ = _all_set("__eq__")
    __le__ = _all_set("__le__")
    __lt__ = _all_set("__lt__")
    __ge__ = _all_set("__ge__")
    __gt__ = _all_set("__gt__")
    intersection = _all_set("intersection")
    union = _all_set("union")
    difference = _all_set("difference")
    symmetric_difference = _all_set("symmetric_difference")
    isdisjoint = _all_set("isdisjoint")
    issubset = _all_set("issubset")
    issuperset = _all_set("issuperset")
    copy = _all_set("copy")
    __hash__ = None  # type: ignore[assignment]


class TrackedList(list):
    """A list whose every read counts as reading all of it (appends are writes)."""

    __iter__ = _all_list("__iter__")
    __getitem__ = _all_list("__getitem__")
    __len__ = _all_list("__len__")
    __reversed__ = _all_list("__reversed__")
    __contains__ = _all_list("__contains__")
    __eq__ = _all_list("__eq__")
    index = _all_list("index")
    count = _all_list("count")
    copy = _all_list("copy")
    __hash__ = None  # type: ignore[assignment]


# FileFacts fields the screen does not track: the module and source (only positions are read
# from them); the imports and the classes (wrapped apart: the import table's names, and each
# class's methods and layers, are tracked; a dropped class has a stand-in); the sites (every
# unit that may hold one is kept); and `random_sites`, which `rules._common.random_alternative`
# matches to a site by the very `if` node of that site's guards: an entry from a dropped unit
# can never match, its nodes are not even parsed. Any other field is tracked, and a read of a
# field `slicing.NEEDS` does not know makes every dropped unit a provider (safe, slow).
UNTRACKED = frozenset({"module", "imports", "source", "classes", "sites", "random_sites"})


class Dropped:
    """Stands in facts.classes for a class the screen left out. The analysis may ask whether the
    class exists (it does, from where it is defined on, as in the whole file) and what its bases
    are (read from its header, resolved as the collector resolves them); reading anything else of
    it records a read of kind "class", and `Plan.providers` then brings the class back."""

    __slots__ = ("name", "bases", "_reads")

    def __init__(self, name: str, bases: Tuple[str, ...], reads: Reads) -> None:
        self.name, self.bases, self._reads = name, bases, reads

    def __getattr__(self, attribute: str):
        self._reads.key("class", self.name)
        return {}  # harmless: the file is analysed again with the class


class _Classes(dict):
    """facts.classes: a registered class's methods and layers are tracked; a dropped class is a
    `Dropped` stand-in, found by name but skipped when the classes are iterated: the only rule
    that iterates them (IL004) finds nothing in a class the screen dropped (see `_walkers`)."""

    _reads: Reads

    def setdefault(self, name, info=None):
        if name not in self and info is not None and not isinstance(info, Dropped):
            for field in ("methods", "layers"):
                value = getattr(info, field, None)
                if type(value) is dict:
                    wrapped = TrackedDict(value)
                    wrapped._reads, wrapped._kind = self._reads, f"{field}:{name}"
                    setattr(info, field, wrapped)
        return dict.setdefault(self, name, info)

    def __setitem__(self, name, info):
        self.setdefault(name, info)
        dict.__setitem__(self, name, info)

    def __iter__(self):
        return (name for name in dict.__iter__(self) if not isinstance(dict.__getitem__(self, name), Dropped))

    def keys(self):
        return list(iter(self))

    def items(self):
        return [(name, info) for name, info in dict.items(self) if not isinstance(info, Dropped)]

    def values(self):
        return [info for info in dict.values(self) if not isinstance(info, Dropped)]

    def __len__(self):
        return len(self.keys())


def collector(facts, plan: "Plan"):
    """The facts collector for a screened file: at each marker of `plan.text()`, it registers the
    dropped classes the marker stands for, just where the whole file would have defined them."""
    import libcst as cst

    from initlint.facts import Collector

    groups = plan.dropped_classes()
    markers = [
        statement
        for statement in facts.module.body
        if isinstance(statement, cst.SimpleStatementLine)
        and statement.trailing_whitespace.comment is not None
        and statement.trailing_whitespace.comment.value == MARKER_COMMENT
    ]
    if len(markers) != len(groups):
        raise Unsure("the markers of dropped classes do not line up")
    at = {id(marker): classes for marker, classes in zip(markers, groups)}
    reads = facts.classes._reads

    body = list(facts.module.body)
    top = {id(statement): i for i, statement in enumerate(body)} if len(body) == len(plan.elements()) else {}

    def entered(node) -> None:
        position = top.get(id(node))
        if position is not None:
            reads.position = position
        classes = at.get(id(node))
        if classes is not None:
            for name, args in classes:
                facts.classes.setdefault(name, Dropped(name, _bases_of(args, facts.imports), reads))

    # Hooks on the statements' node types only: one on every node would slow the visit by a fifth.
    hooks = {}
    for kind in ("SimpleStatementLine", "FunctionDef", "ClassDef", "If", "For", "While", "With", "Try", "TryStar", "Match"):
        inherited = getattr(Collector, f"visit_{kind}", None)

        def hook(self, node, inherited=inherited):
            entered(node)
            return inherited(self, node) if inherited is not None else None

        hooks[f"visit_{kind}"] = hook
    return type("_ScreenedCollector", (Collector,), hooks)(facts)


_SIMPLE_BASES = Lazy(r"[\s\w.,]*")


def _bases_of(args: Optional[str], imports) -> Tuple[str, ...]:
    """A class header's bases as the collector reads them (`visit_ClassDef`), from the text between
    its parentheses: positional arguments, resolved through the imports seen so far."""
    import libcst as cst

    from initlint.imports import dotted_name

    if not args or not args.strip():
        return ()
    if _SIMPLE_BASES.fullmatch(args):  # `A, b.C`: no need to parse
        values = []
        for item in args.split(","):
            parts = [p for p in re.split(r"[\s.]+", item) if p]
            if not parts:
                continue
            node = cst.Name(parts[0])
            for part in parts[1:]:
                node = cst.Attribute(value=node, attr=cst.Name(part))
            values.append(node)
    else:
        call = cst.parse_expression(f"_({args})")
        values = [a.value for a in call.args if a.keyword is None and a.star != "**"]  # type: ignore[attr-defined]
    return tuple(imports.resolve(v) or dotted_name(v) or "" for v in values)


def track(facts, reads: Reads) -> None:
    """Swap the collections of `facts` (a fresh FileFacts, before the visit) for ones that record
    their reads into `reads`, under the field's name. A field this module does not know is tracked
    too, and `Plan.providers` answers a read of it with "any dropped unit might hold it"."""
    import dataclasses

    names = getattr(facts.imports, "names", None)
    if type(names) is dict:  # imports inside functions may be dropped: what they bind is tracked
        wrapped = TrackedDict(names)
        wrapped._reads, wrapped._kind = reads, "imports"
        facts.imports.names = wrapped
    for field in dataclasses.fields(facts):
        value = getattr(facts, field.name)
        if field.name == "classes" and type(value) is dict:
            registry = _Classes(value)
            registry._reads = reads
            facts.classes = registry
            continue
        if field.name in UNTRACKED or field.name.startswith("_"):
            continue
        for plain, tracked in ((dict, TrackedDict), (set, TrackedSet), (list, TrackedList)):
            if type(value) is plain:
                wrapped = tracked(value)
                wrapped._reads, wrapped._kind = reads, field.name
                setattr(facts, field.name, wrapped)
                break


def note(facts, reads: Reads) -> None:
    """After the rules: what `Plan.providers` needs besides the keys (see `_flow`)."""
    reads.created = {s.target_name for s in facts.sites if s.kind == "constant" and s.zero and s.created and s.trainable}


def remap(facts, plan: Plan) -> None:
    """Make `facts.range_of` answer in the source's lines (the parsed text leaves dropped units out)."""
    from libcst.metadata import CodePosition, CodeRange

    compact = facts.range_of

    def range_of(node):
        where = compact(node)
        return CodeRange(
            CodePosition(plan.original_line(where.start.line), where.start.column),
            CodePosition(plan.original_line(where.end.line), where.end.column),
        )

    facts.range_of = range_of
