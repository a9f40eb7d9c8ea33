"""A generic, linear text screen: only the code a rule can need reaches libcst.

Parsing is most of a run's cost (libcst: ~2.4 us a byte to parse, as much again to visit) and
most code holds nothing any rule reports. The screen knows no rule: each rule declares, in its
`needs` (a `Needs`), the words its sites are spelt with (`triggers`), the words of the code it
reads besides (`context`), and the relations it follows from a site (`follow`). The screen keeps
what those declarations reach and parses nothing else.

1. **Files** (`may_match`): a file none of whose bytes spell a trigger of a selected rule (a
   substring test on the raw text, strings and comments included: a superset) is never parsed,
   and libcst is never imported for it.

2. **Units** (`plan`). Strings and comments are blanked (`textscan.code_only`: code in a docstring
   never counts) and the file is cut into units (`textscan.units`): top-level statements, top-level
   functions, class headers and methods. Each unit's words are read once. Kept are
   - the *seeds*: units holding a whole-word trigger of some rule;
   - every import statement (one line each: names resolve as in the whole file);
   - for the rules with a seed in the file, the units holding one of their `context` words;
   - the closure, to a fixed point, of what kept code needs to be analysed as in the whole file:
     the definitions of every word a kept unit holds (top-level functions and classes, and the
     module-level statements that may bind the word); for every kept class, its header, its
     `__init__` and `forward` (the network model reads them), its bases' and the methods whose
     names any kept unit holds (`self._make_layer(...)`, `net.init_weights()`);
   - and, from the seeds of a rule that declares it, these relations (`follow`):
     `"users"`: the units that mention what the seed defines (a function's callers, an
     `.apply(fn)`, the statements that read a module-level name, transitively along
     module-level statements: data flow); `"subclasses"`: the classes of the file derived from
     the seed's class; `"class"`: the seed's whole class; `"module"`: every module-level
     statement of the file.
   Dropped units become empty lines (a dropped method: `pass` at its indentation, so that a class
   keeps a body), so that lines and columns of kept code are those of the file: findings need no
   mapping back. A file whose text is not lexed with certainty (an unterminated string), whose cut
   text does not parse, or of which the screen would keep most, is parsed whole.

Every step is linear in the file's size: one pass to blank strings, one to cut units, one regex
pass per unit for its words, and a closure that visits each unit and each (word, unit) pair at
most once. tests/test_screen.py runs every rule with the screen on and off over the fixtures,
the rules' examples, generated worst cases and the benchmark corpus (as it is and with init bugs
seeded into it), and asserts identical findings and identical sites; a toy rule that declares only
its `needs` shows that the screen never starves a rule it does not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

from initlint import textscan
from initlint.textscan import Lazy, Unit

# The relations a rule may ask the screen to follow from its seeds.
RELATIONS = frozenset({"users", "subclasses", "class", "module"})
# The methods of a kept class that are always kept: the network model reads them.
MODEL_METHODS = ("__init__", "forward")
_WORD = Lazy(r"[^\W\d]\w*")


@dataclass(frozen=True)
class Needs:
    """What a rule's sites need in text (see the module docstring)."""

    triggers: FrozenSet[str] = frozenset()
    # Regular expressions for sites no word spells (`w[:] = 0.5`); each is run once over a file.
    patterns: Tuple[str, ...] = ()
    context: FrozenSet[str] = frozenset()
    follow: FrozenSet[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = set(self.follow) - RELATIONS
        if unknown:
            raise ValueError(f"unknown screen relations: {sorted(unknown)}")


def _substrings(words: Iterable[str]) -> Tuple[str, ...]:
    """The fewest substrings whose presence `may_match` must test: a word that contains another
    trigger is found by that one."""
    ordered = sorted(set(words), key=len)
    kept: List[str] = []
    for word in ordered:
        if not any(short in word for short in kept):
            kept.append(word)
    return tuple(kept)


_SUBSTRINGS: Dict[Tuple[Needs, ...], Tuple[str, ...]] = {}


def may_match(source: str, needs: Sequence[Needs]) -> bool:
    """False only when no rule's trigger is spelt anywhere in `source` (strings and comments
    included): then nothing in it can be reported."""
    key = tuple(needs)
    probes = _SUBSTRINGS.get(key)
    if probes is None:
        probes = _SUBSTRINGS[key] = _substrings(word for need in needs for word in need.triggers)
    if any(probe in source for probe in probes):
        return True
    return any(_compiled(pattern).search(source) for need in needs for pattern in need.patterns)


_PATTERNS: Dict[str, "re.Pattern[str]"] = {}


def _compiled(pattern: str) -> "re.Pattern[str]":
    found = _PATTERNS.get(pattern)
    if found is None:
        found = _PATTERNS[pattern] = re.compile(pattern)
    return found


class Plan:
    """What of a file to parse: its units and which are kept."""

    def __init__(self, source: str, code: Optional[str], units: Optional[List[Unit]], keep: Optional[List[bool]]) -> None:
        self.source, self._code, self.units, self.keep = source, code, units, keep

    @property
    def partial(self) -> bool:
        """Whether some unit is left out."""
        return self.keep is not None and not all(self.keep)

    def whole(self) -> None:
        """Parse the whole file."""
        self.keep = None

    def kept_chars(self) -> int:
        """How many characters of the file are kept."""
        if self.keep is None or self.units is None:
            return len(self.source)
        return sum(u.end - u.start for u, k in zip(self.units, self.keep) if k)

    def text(self) -> str:
        """The text to parse: kept units as they are, dropped ones as empty lines (a dropped
        method starts with `pass`), so that every kept line has its number and columns."""
        if not self.partial:
            return self.source
        source, out = self.source, []
        for unit, kept in zip(self.units, self.keep):  # type: ignore[arg-type]
            piece = source[unit.start:unit.end]
            if kept:
                out.append(piece)
                continue
            blank = _line_breaks(piece)
            if unit.kind == "method":
                indent = piece[: len(piece) - len(piece.lstrip(" \t"))]
                blank = f"{indent}pass" + blank  # on the method's first line: the class keeps a body
            out.append(blank)
        return "".join(out)

    def longest_statement(self, everything: bool = False) -> Optional[int]:
        """`textscan.longest_statement` of what is parsed (of the whole file with `everything`);
        None when the text could not be lexed."""
        if self._code is None:
            return None
        ranges = None
        if not everything and self.partial:
            ranges = [(u.start, u.end) for u, k in zip(self.units, self.keep) if k]  # type: ignore[arg-type]
        return textscan.longest_statement(self._code, self.source, ranges)


def _line_breaks(piece: str) -> str:
    """Only the line breaks of `piece` (\\r\\n, \\r and \\n kept as they are)."""
    if "\r" not in piece:
        return "\n" * piece.count("\n")
    out, i, n = [], 0, len(piece)
    while i < n:
        j = piece.find("\r", i)
        k = piece.find("\n", i)
        if j < 0 and k < 0:
            break
        if j >= 0 and (k < 0 or j < k):
            out.append("\r\n" if piece.startswith("\r\n", j) else "\r")
            i = j + (2 if piece.startswith("\r\n", j) else 1)
        else:
            out.append("\n")
            i = k + 1
    return "".join(out)


def plan(source: str, needs: Sequence[Needs], matched: bool = False) -> Optional[Plan]:
    """What of `source` to parse for rules with these `needs`; None when nothing in it can be
    reported. `matched`: the caller has seen `may_match` say yes."""
    if not matched and not may_match(source, needs):
        return None
    try:
        code = textscan.code_only(source)
    except textscan.Unsure:
        return Plan(source, None, None, None)
    units = textscan.units(code)
    return _Closure(code, units, needs).plan(source)


class _Closure:
    """The kept units: seeds, then everything they reach (see the module docstring)."""

    def __init__(self, code: str, units: List[Unit], needs: Sequence[Needs]) -> None:
        self.code, self.units, self.needs = code, units, needs
        findall = _WORD.findall
        self.words: List[FrozenSet[str]] = [frozenset(findall(code, u.start, u.end)) for u in units]
        self.keep = [False] * len(units)
        self.queue: List[int] = []
        self._mentions: Optional[Dict[str, List[int]]] = None
        # Names -> the module-level units that may define them; classes by name; methods by class.
        self.defines: Dict[str, List[int]] = {}
        self.classes: Dict[str, List[int]] = {}
        self.members: Dict[int, List[int]] = {}
        self.methods: Dict[str, List[int]] = {}
        self.subclasses: Dict[str, List[int]] = {}
        for i, unit in enumerate(units):
            if unit.kind == "method":
                self.members.setdefault(unit.parent, []).append(i)
                self.methods.setdefault(unit.name, []).append(i)
                continue
            for name in unit.defines:
                self.defines.setdefault(name, []).append(i)
            if unit.kind == "class":
                self.classes.setdefault(unit.name, []).append(i)
                for base in unit.bases:
                    self.subclasses.setdefault(base, []).append(i)
        self.kept_classes: Set[int] = set()
        self.method_words: Set[str] = set()  # every word of kept code: methods by that name are kept
        self.users_of: Set[str] = set()  # names whose users are kept
        self.follow: List[FrozenSet[str]] = [frozenset()] * len(units)
        self.flows = [False] * len(units)  # module-level users: their own users are kept too

    # ---- what is kept ------------------------------------------------------------------------
    def plan(self, source: str) -> Optional[Plan]:
        seeded = self._seed()
        if not seeded:
            return None
        for i, unit in enumerate(self.units):
            if unit.imports:
                self._keep(i)
        if any("module" in need.follow for need in seeded):
            for i, unit in enumerate(self.units):
                if unit.kind == "module":
                    self._keep(i)
        context = frozenset().union(*(need.context for need in seeded))
        if context:
            for i, words in enumerate(self.words):
                if not words.isdisjoint(context):
                    self._keep(i)
        self._close()
        return Plan(source, self.code, self.units, self.keep)

    def _seed(self) -> List[Needs]:
        """Keep the units holding a trigger; the needs of the rules that have a seed."""
        seeded: List[Needs] = []
        starts = [u.start for u in self.units]
        for need in self.needs:
            hits = {i for i, words in enumerate(self.words) if not words.isdisjoint(need.triggers)}
            for pattern in need.patterns:
                hits.update(textscan.bisect_units(starts, m.start()) for m in _compiled(pattern).finditer(self.code))
            for i in sorted(hits):
                if need.follow:
                    self.follow[i] = self.follow[i] | need.follow
                self._keep(i)
            if hits:
                seeded.append(need)
        return seeded

    def _keep(self, i: int) -> None:
        if not self.keep[i]:
            self.keep[i] = True
            self.queue.append(i)

    def _close(self) -> None:
        units, queue = self.units, self.queue
        while queue:
            i = queue.pop()
            unit, words = units[i], self.words[i]
            for word in words:
                for j in self.defines.get(word, ()):
                    self._keep(j)
            fresh = words - self.method_words
            if fresh:
                self.method_words |= fresh
                for word in fresh:
                    for m in self.methods.get(word, ()):
                        if units[m].parent in self.kept_classes:
                            self._keep(m)
            owner = unit.parent if unit.kind == "method" else (i if unit.kind == "class" else -1)
            if owner >= 0:
                self._keep_class(owner)
            follow = self.follow[i]
            if follow:
                self._relations(unit, follow, owner)
            if self.flows[i] and unit.kind == "module":
                self._users(unit.defines)  # data flow along module-level statements

    def _keep_class(self, c: int) -> None:
        if c in self.kept_classes:
            return
        self.kept_classes.add(c)
        self._keep(c)
        for m in self.members.get(c, ()):
            name = self.units[m].name
            if name in MODEL_METHODS or name in self.method_words:
                self._keep(m)

    def _relations(self, unit: Unit, follow: FrozenSet[str], owner: int) -> None:
        if "class" in follow and owner >= 0:
            for m in self.members.get(owner, ()):
                self._keep(m)
        if "subclasses" in follow and owner >= 0:
            self._keep_subclasses(self.units[owner].name)
        if "users" in follow:
            names = set(unit.defines)
            if unit.name and unit.name not in MODEL_METHODS and not unit.name.startswith("__"):
                names.add(unit.name)  # (who mentions `__init__` or `forward` says nothing)
            self._users(names)

    def _keep_subclasses(self, name: str) -> None:
        stack, seen = [name], {name}
        while stack:
            for c in self.subclasses.get(stack.pop(), ()):
                self._keep_class(c)
                sub = self.units[c].name
                if sub not in seen:
                    seen.add(sub)
                    stack.append(sub)

    def _users(self, names: Iterable[str]) -> None:
        fresh = [name for name in names if name not in self.users_of]
        if not fresh:
            return
        self.users_of.update(fresh)
        mentions = self._mentions_index()
        for name in fresh:
            for j in mentions.get(name, ()):
                if not self.flows[j]:
                    self.flows[j] = True
                    if self.keep[j] and self.units[j].kind == "module":
                        self.queue.append(j)  # read again, now for its users (at most twice a unit)
                self._keep(j)

    def _mentions_index(self) -> Dict[str, List[int]]:
        """word -> the units that hold it (built once, when a relation first needs it)."""
        if self._mentions is None:
            index: Dict[str, List[int]] = {}
            for i, words in enumerate(self.words):
                for word in words:
                    index.setdefault(word, []).append(i)
            self._mentions = index
        return self._mentions
