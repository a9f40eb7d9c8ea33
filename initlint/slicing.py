"""The screen's plan for one file: which units reach libcst, the text parsed, and, after the
analysis, which dropped units could have changed what it read (see `initlint.screen`)."""

from __future__ import annotations

import bisect
import re
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from initlint.anchors import (
    NEEDS,
    _BARE_VALUE,
    _File,
    _WORD,
    _after_dot,
    _bases,
    _binds,
    _closing,
    _init_of,
    _targets,
    anchors,
)
from initlint.screen import (
    CONSTRUCTORS,
    CONSTRUCTOR_METHODS,
    REPEAT_METHODS,
    REPEAT_FUNCTIONS,
)
from initlint.textscan import (
    Lazy,
    SPACE,
    Unit,
    Unsure,
    assigned,
    bisect_units,
    code_only,
    exact,
    has_word,
    imports,
    is_word_char,
    longest_statement,
)
from initlint.tracking import MARKER, Reads

# ---- the plan -------------------------------------------------------------------------------
class Plan:
    """Which units of a file reach libcst; `text()` is the source with the others blanked."""

    def __init__(self, source: str, file: Optional[_File], keep: Optional[List[bool]], hops: Optional[Dict[int, int]] = None) -> None:
        self.source = source
        self.file = file
        self.keep = keep  # None: the whole file
        self.hops = hops if hops is not None else {}
        self._lines: List[Tuple[int, int]] = []

    @property
    def partial(self) -> bool:
        """Whether some of the file is left out."""
        return self.keep is not None and not all(self.keep)

    def text(self) -> str:
        """The kept units, one after the other, with a marker line where dropped classes were.

        Dropped code is left out rather than blanked: libcst pays for every blank line (a node
        each). Kept units are whole lines, so columns are unchanged, and `original_line` maps a
        line of this text back to the source's (see `remap`)."""
        if not self.partial:
            return self.source
        assert self.file is not None and self.keep is not None
        parts: List[str] = []
        self._lines = []  # (first line here, first line in the source), per kept run
        here, there = 1, 1
        run = False
        for unit, kept in zip(self.file.units, self.keep):
            piece = self.source[unit.start:unit.end]
            breaks = piece.count("\n") + piece.count("\r") - piece.count("\r\n")  # \n, \r or \r\n
            if kept:
                if not run:
                    self._lines.append((here, there))
                    run = True
                parts.append(piece)
                here += breaks
            else:
                run = False
                if unit.parent < 0 and unit.classes:
                    # A marker where the dropped classes were: the analysis registers them there.
                    parts.append(MARKER + "\n")
                    here += 1
            there += breaks
        return "".join(parts)

    def original_line(self, line: int) -> int:
        """The source's line number of a line of `text()`."""
        if not self.partial:
            return line
        index = bisect_units([first for first, _ in self._lines], line)
        first, original = self._lines[max(index, 0)]
        return original + line - first

    def dropped_classes(self) -> List[List[Tuple[str, Optional[str]]]]:
        """For each marker in `text()`, the classes it stands for, in order: (name, the source
        text between the parentheses of its header, or None when it has none)."""
        if not self.partial:
            return []
        assert self.file is not None and self.keep is not None
        code, out = self.file.code, []
        for unit, kept in zip(self.file.units, self.keep):
            if kept or unit.parent >= 0 or not unit.classes:
                continue
            found = []
            for match in _CLASS_HEADER.finditer(code, unit.start, unit.end):
                args = None
                if match.group(2):
                    close = _closing(code, match.end() - 1)
                    args = self.source[match.end():close] if close is not None else ""
                found.append((match.group(1), args))
            out.append(found)
        return out

    def kept_chars(self) -> int:
        """How much of the source reaches the parser."""
        if not self.partial:
            return len(self.source)
        assert self.file is not None and self.keep is not None
        return sum(u.end - u.start for u, k in zip(self.file.units, self.keep) if k)

    def longest_statement(self, everything: bool = False) -> Optional[int]:
        """`textscan.longest_statement` of `text()` (with `everything`, of the whole source), from
        the code-only text the screen has read already (None when it has none)."""
        if self.file is None:
            return None
        if everything or not self.partial:
            return longest_statement(self.file.code, self.source)
        assert self.keep is not None
        ranges = [(u.start, u.end) for u, k in zip(self.file.units, self.keep) if k]
        return longest_statement(self.file.code, self.source, ranges)  # (a marker line nests nothing)

    def whole(self) -> None:
        """Parse everything from now on."""
        self.keep = None

    def widen(self, indices: Iterable[int]) -> None:
        """Keep these units too (and what they need)."""
        assert self.file is not None and self.keep is not None
        _keep(self.file, self.keep, self.hops, [(i, 0) for i in indices])

    def providers(self, reads: "Reads") -> List[int]:
        """Dropped units that may hold a fact under a key the analysis read, so that dropping them
        may have changed an answer. `reads`: fact kind -> keys read, or None for all of them."""
        if not self.partial or not reads:
            return []
        assert self.file is not None and self.keep is not None
        whole = {kind for kind, keys in reads.items() if keys is None and kind in _FLOWS}
        flows: Set[int] = set()
        if whole and reads.created is not None:
            # Read whole by IL002's check of a zero hidden matrix: only the code its data flow can
            # reach matters (`_hidden_flow`), given the matrices it checked; often nothing does.
            flows = _hidden_flow(self.file, reads.created) or set()
            rest = Reads({kind: keys for kind, keys in reads.items() if kind not in whole})
            rest.until, rest.late, rest.readers = reads.until, reads.late, reads.readers
            reads = rest
        elements = self.elements()
        # Per kind, what a dropped unit could have changed: `None` (the whole collection was read),
        # the keys read after the visit (or where its position is unknown), and the keys read
        # while visiting a statement, by that statement's unit, sorted: a unit counts for those
        # whose statement comes after it (or is its own class), found by bisection.
        kinds = []
        for kind, keys in reads.items():
            if keys is None:
                kinds.append((kind, None, [], [], {}))
                continue
            free: Set[str] = set()
            bounded: List[Tuple[int, str]] = []
            for key in keys:
                bound = reads.bound(kind, key)
                if bound is None or bound >= len(elements):
                    free.add(key)
                else:
                    bounded.append((elements[bound], key))
            bounded.sort()
            by_element: Dict[int, Set[str]] = {}
            for element, key in bounded:
                by_element.setdefault(element, set()).add(key)
            kinds.append((kind, free, [e for e, _ in bounded], [k for _, k in bounded], by_element))
        code = self.file.code
        found = []
        for index, kept in enumerate(self.keep):
            if kept:
                continue
            if index in flows:
                found.append(index)
                continue
            unit = self.file.units[index]
            for kind, free, bounds, bounded_keys, by_element in kinds:
                needs = self.file.needs(kind) if kind in NEEDS else None
                if needs is not None and not any(code.find(n, unit.start, unit.end) >= 0 for n in needs):
                    continue  # (what `_provides` checks first, before the keys matter)
                keys: Optional[Set[str]] = None
                if free is not None:
                    # A read made while visiting statement b cannot see what comes after it.
                    keys = free | set(bounded_keys[bisect.bisect_right(bounds, index):]) | by_element.get(unit.parent, set())
                    if not keys:
                        continue
                if _provides(self.file, self.keep, index, kind, keys, reads):
                    found.append(index)
                    break
        return found

    def elements(self) -> List[int]:
        """The units behind the parsed module's top-level statements, in order: the kept
        top-level units (a class with its kept methods) and the dropped classes' markers."""
        if not self.partial:
            return []
        assert self.file is not None and self.keep is not None
        return [i for i, (u, k) in enumerate(zip(self.file.units, self.keep)) if u.parent < 0 and (k or u.classes)]


# Facts that IL002's zero-hidden-matrix check reads whole (`_derived`, `_mentions_random_trainable`,
# its loop over the matrix products).
_FLOWS = frozenset({"bindings", "matmuls", "trainables", "random_trainables"})
def _mentions(code: str, name: str) -> List[int]:
    """Offsets where `name` (dotted) is mentioned as `exprs.names_in` finds names: a whole chain,
    not the start of a longer one (`self.w.t()` does not mention `self.w`)."""
    dotted = r"[\s\\]*\.[\s\\]*".join(re.escape(part) for part in name.split("."))
    found = []
    for match in re.finditer(rf"{dotted}(?!\w)(?![\s\\]*\.[\s\\]*[^\W\d])", code):
        j = match.start() - 1
        if j < 0 or not (code[j] == "." or is_word_char(code[j])):
            found.append(match.start())
    return found


def _flow(file: _File, names: Set[str]) -> Tuple[Set[str], Set[Tuple[int, int]]]:
    """What IL002's check of the zero matrices `names` reads, over the whole file: the names
    derived from them (bound, transitively, to values that mention them, as `_derived` finds
    them), and the statements that mention or bind those names."""
    code = file.code
    derived: Set[str] = set()
    frontier = set(names)
    statements: Set[Tuple[int, int]] = set()
    while frontier:
        new: Set[str] = set()
        for name in frontier:
            for p in _mentions(code, name):
                bounds = file.statement_bounds(p)
                if bounds not in statements:
                    statements.add(bounds)
                    new |= _targets(file, *bounds) - derived - names
        derived |= new
        frontier = new
    for name in derived:
        for p in _binds(file, name):
            statements.add(file.statement_bounds(p))
    return derived, statements


def _hidden_flow(file: _File, names: Set[str]) -> Optional[Set[int]]:
    """The dropped-or-not units IL002's zero-hidden-matrix check may depend on, or None when no
    matrix product in the whole file mentions both a name from that data flow and a name a
    statement makes trainable: then the check finds nothing, whatever the screen drops."""
    code = file.code
    trainable, trained = file.trained()
    products = [mentioned for mentioned in file.products() if mentioned & trained or "" in trained]
    if not products:
        return None
    derived, statements = _flow(file, names)
    flow = {n.rsplit(".", 1)[-1] for n in derived | names}
    if not any(mentioned & flow for mentioned in products):
        return None
    mentioned = set()
    for start, end in statements:
        mentioned.update(_WORD.findall(code, start, end))
    for bounds in trainable:
        if {t.rsplit(".", 1)[-1] for t in _targets(file, *bounds)} & mentioned:
            statements.add(bounds)
    return {file.unit_at(start) for start, _ in statements}




_CLASS_HEADER = Lazy(r"\bclass[\s\\]+(\w+)[\s\\]*(\()?")


def build(source: str, extend_init_modules: Sequence[str] = (), why: Optional[Dict[int, List[str]]] = None) -> Optional[Plan]:
    """The plan for a file that passed `initlint.screen.may_match`; None when nothing in it can be
    reported (`why`: unit -> the anchors found in it, for debugging)."""
    try:
        code = code_only(source)
    except Unsure:
        return Plan(source, None, None)
    file = _File(source, code, extend_init_modules)
    seeds = anchors(file, why)
    if not seeds:
        return None
    keep = [False] * len(file.units)
    hops: Dict[int, int] = {}
    # Kept always: methods that define classes (dropped classes are registered between top-level
    # statements only). Imports are kept with the code that names what they import (`_keep`), and
    # tracked: an import the analysis needs and the screen dropped brings its unit back.
    context = [i for i, u in enumerate(file.units) if u.kind == "method" and u.classes]
    candidates = file.walkers
    items: List[Tuple[int, Optional[int]]] = [(i, None) for i in sorted(seeds | set(context) | _randomisers(file, seeds))]
    items += [(i, _HOPS - _CANDIDATE_HOPS) for i in sorted(candidates) if file.units[i].kind == "method"]
    _keep(file, keep, hops, items)
    result = Plan(source, file, keep, hops)
    # The stand-ins of dropped classes resolve their bases through the imports: keep those too.
    named = {word for group in result.dropped_classes() for _, args in group for word in _WORD.findall(args or "")}
    _keep(file, keep, hops, [(i, None) for i, bound in file.import_units().items() if not keep[i] and (bound is None or bound & named)])
    return result


def _randomisers(file: _File, seeds: Set[int]) -> Set[int]:
    """Units that may give random values to a tensor a constructor seed makes (`randomised`):
    the rules ask about every such tensor, so kept now, they need no second round."""
    found: Set[int] = set()
    code = file.code
    needs = file.needs("randomised") or ()
    for name in file.created:
        for p in exact(code, name):
            index = file.unit_at(p)
            if index in seeds or index in found:
                continue
            unit = file.units[index]
            if any(code.find(n, unit.start, unit.end) >= 0 for n in needs):
                found.add(index)
    return found


# How many calls deep IL004 looks from an `__init__` for functions of the file (`walks` follows
# callees while depth < 2: the bodies of `__init__`, its callees and theirs name the functions
# it looks up); the classes where IL004 may report look further (its fixes follow every callee).
_HOPS = 3
_CANDIDATE_HOPS = 25
_ATTRIBUTE = Lazy(r"\.[\s\\]*(\w+)")


def _keep(file: _File, keep: List[bool], hops: Dict[int, int], items: Iterable[Tuple[int, Optional[int]]]) -> None:
    """Keep units (`(index, hops from an __init__ or None)`), what they need to parse or to be
    analysed (a method's class header; a header's `__init__` (IL004 reads every class's) or, when it
    has none, its first method; the classes it names as bases) and the functions and methods the
    code IL004 scans may call (`_named`)."""
    todo = list(items)
    added: List[int] = []
    while todo:
        new: List[int] = []
        while todo:
            index, hop = todo.pop()
            unit = file.units[index]
            if unit.kind == "method" and unit.name == "__init__":
                hop = 0 if hop is None else min(hop, 0)
            if hop is not None and hop < hops.get(index, _HOPS + 1):
                hops[index] = hop
                new.append(index)
            if keep[index]:
                continue
            keep[index] = True
            added.append(index)
            if unit.kind == "method":
                todo.append((unit.parent, None))
            elif unit.kind == "class":
                todo.extend((base, None) for base in _bases(file, index))
                init = _init_of(file, index)
                first = index + 1 if index + 1 < len(file.units) and file.units[index + 1].parent == index else None
                if init is not None:
                    todo.append((init, 0))
                elif first is not None:
                    todo.append((first, None))
        todo = _named(file, hops, new) + _imports_for(file, keep, added)
        added = []


def _imports_for(file: _File, keep: List[bool], added: List[int]) -> List[Tuple[int, Optional[int]]]:
    """Top-level import statements that bind a name the code in `added` mentions."""
    if not added:
        return []
    code = file.code
    mentioned: Set[str] = set()
    for i in added:
        mentioned.update(_WORD.findall(code, file.units[i].start, file.units[i].end))
    found: List[Tuple[int, Optional[int]]] = []
    for index, bound in file.import_units().items():
        if not keep[index] and (bound is None or bound & mentioned):
            found.append((index, None))
    return found


def _named(file: _File, hops: Dict[int, int], new: List[int]) -> List[Tuple[int, int]]:
    """What IL004 may look up from the code in `new` (units within a few calls of an `__init__`),
    in structures it builds itself: top-level functions by name (from the module's body; not
    tracked, so this must be complete), and methods by attribute (`self.m`; tracked too: keeping
    them here only saves rounds)."""
    found: List[Tuple[int, int]] = []
    code = file.code
    # Indexed once, so that a file of many units costs linear, not quadratic, time.
    defs: Dict[str, List[int]] = {}
    methods: Dict[str, List[int]] = {}
    for index, other in enumerate(file.units):
        if other.kind == "def":
            defs.setdefault(other.name, []).append(index)
        elif other.kind == "method":
            methods.setdefault(other.name, []).append(index)
    for i in new:
        hop = hops[i]
        if hop >= _HOPS:
            continue
        unit = file.units[i]
        text = code[unit.start:unit.end]
        names = set(_WORD.findall(text))
        attributes = set(_ATTRIBUTE.findall(text))
        owners = _class_chain(file, unit.parent if unit.kind == "method" else i)
        hits = [index for name in names & defs.keys() for index in defs[name]]
        hits += [index for name in attributes & methods.keys() for index in methods[name] if file.units[index].parent in owners]
        found.extend((index, hop + 1) for index in sorted(hits))
    return found


def _class_chain(file: _File, index: int) -> Set[int]:
    """A class header and the headers of its bases in the file, transitively."""
    chain: Set[int] = set()
    todo = [index] if 0 <= index < len(file.units) and file.units[index].kind == "class" else []
    while todo:
        current = todo.pop()
        if current not in chain:
            chain.add(current)
            todo.extend(_bases(file, current))
    return chain


def _provides(file: _File, keep: List[bool], index: int, kind: str, keys: Optional[Set[str]], reads: Optional["Reads"] = None) -> bool:
    """Whether dropped unit `index` may add a fact of `kind` under one of `keys` (None: any key)."""
    unit = file.units[index]
    code, start, end = file.code, unit.start, unit.end
    if kind.startswith(("methods:", "layers:")):
        return _provides_member(file, unit, kind, keys)
    if kind == "class":  # a dropped class itself (its stub was read)
        return keys is None or bool(unit.classes & keys)
    if kind == "imports":  # an import inside a dropped function
        if not has_word(code, "import", start, end):
            return False
        table = imports(code[start:end])
        if table is None or keys is None:
            return True
        return any(not _same_import(file, keep, index, name) for name in set(table) & keys)
    if kind not in NEEDS:
        return True  # a kind of fact this module does not know: assume the worst
    needs = file.needs(kind)
    if needs is not None and not any(code.find(n, start, end) >= 0 for n in needs):
        return False
    if keys is None or (kind in ("trainables", "random_trainables") and code.find("register_parameter", start, end) >= 0):
        return True  # (register_parameter names its parameter in a string, which code-only text blanks)
    text = code[start:end]
    for key in keys:
        if kind == "randomise_all":
            # The class of the code, or "" for code outside classes (a top-level function).
            owner = {file.units[unit.parent].name} | unit.classes if unit.kind == "method" else unit.classes
            if key in owner or (key == "" and unit.kind in ("def", "module")):
                return True
            continue
        last = key.rsplit(".", 1)[-1].strip()
        if not last:
            return True
        if not has_word(text, last):
            continue
        if kind == "applied":  # `x.apply(<key>)` (`.apply(partial(<key>, ...))`)
            if any(has_word(file.statement(p), last) for p in exact(code, "apply", start, end) if _after_dot(code, p)):
                return True
        elif kind in ("bindings", "instances"):  # an assignment to exactly that name
            if _binds(file, key, start, end) and (kind != "bindings" or _binding_matters(file, key, reads)):
                return True
        elif kind in ("trainables", "random_trainables"):  # ... in a statement that makes a parameter
            if any(any(w in file.statement(p) for w in needs) for p in _binds(file, key, start, end, data=True)):
                return True
        else:
            return True
    return False


# What the collector does with the last binding of a name, by the function that read it: what
# some binding of the name must look like for another binding (the dropped one) to matter.
_BINDING_READERS = {
    "_repeated": "repeat",  # follows names to repeated rows (IL005)
    "_method_call": "constant",  # `.copy_(name)`: a constant tensor (IL001-IL003)
}


def _binding_matters(file: _File, key: str, reads: Optional["Reads"]) -> bool:
    """Whether a dropped binding of `key` may change what its readers found: when every reader is
    one of `_BINDING_READERS` and no binding of `key` in the whole file looks like what that
    reader looks for, the last binding (kept or dropped) gives the same nothing."""
    readers = reads.readers.get(("bindings", key)) if reads is not None else None
    if not readers or not readers <= set(_BINDING_READERS):
        return True
    wants = {_BINDING_READERS[r] for r in readers}
    spellings: List[str] = []
    if "repeat" in wants:
        spellings += [*file.spellings(REPEAT_FUNCTIONS), *REPEAT_METHODS]
    if "constant" in wants:
        spellings += list(file.spellings(CONSTRUCTORS | CONSTRUCTOR_METHODS))
    for p in _binds(file, key):
        statement = file.statement(p)
        if any(s in statement for s in spellings):
            return True
        if "repeat" in wants and _BARE_VALUE.search(statement.rstrip(SPACE + ";")):
            return True  # a name: the collector follows it
    return False


def _same_import(file: _File, keep: List[bool], index: int, name: str) -> bool:
    """Whether an import of `name` in dropped unit `index` changes nothing: every import in the file
    binds `name` to the same thing, and a kept top-level import binds it before this unit."""
    if file.table is None or len(file.table.get(name, ())) != 1:
        return False
    return any(i < index and keep[i] and bound is not None and name in bound for i, bound in file.import_units().items())


def _provides_member(file: _File, unit: Unit, kind: str, keys: Optional[Set[str]]) -> bool:
    """Whether a dropped unit may add a method (by its name) or a layer (`self.<key> = ...`) to a class."""
    owner = kind.split(":", 1)[1]
    if unit.kind != "method" or file.units[unit.parent].name != owner:
        return unit.kind != "class" and owner in unit.classes  # a nested class of that name
    if kind.startswith("methods:"):
        return keys is None or unit.name in keys
    text = file.code[unit.start:unit.end]
    return keys is None or bool(assigned(text) & keys)
