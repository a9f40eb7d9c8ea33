"""A generic, linear text screen: only the code a rule can need reaches libcst.

Parsing is most of a run's cost (libcst: ~2.4 us a byte to parse, as much again to visit) and
most code holds nothing any rule reports. The screen knows no rule: each rule declares, in its
`needs` (a `Needs`), the words its sites are spelt with (`triggers`, or `paired` words that
spell a site only near a `pair_with` word or a `pair_patterns` match), the words of the code it
reads besides (`context`), the methods of a class it reads (`reads`) and the relations it
follows from a site (`follow`). The screen keeps what those declarations reach and parses
nothing else.

1. **Files** (`may_match`): a file none of whose bytes spell a trigger of a selected rule (a
   substring test on the raw text, strings and comments included: a superset) is never parsed,
   and libcst is never imported for it.

2. **Units** (`plan`). Strings and comments are blanked (`textscan.code_only`: code in a docstring
   never counts) and the file is cut into units (`textscan.units`): top-level statements, top-level
   functions, class headers and methods. Each unit's words are read once. Kept are
   - the *seeds*: units holding a whole-word trigger or a `patterns` match of some rule, or one
     of its `paired` words together with one of its `pair_with` words or `pair_patterns` matches
     (in the unit, or `pair_calls` calls apart);
   - every import statement (one line each: names resolve as in the whole file);
   - for the rules with a seed in the file, the units holding one of their `context` words;
   - the closure, to a fixed point, of what kept code needs to be analysed as in the whole file:
     the definitions of every word a kept unit holds (top-level functions and classes, and the
     module-level statements that may bind the word); for every kept class, its header, the
     methods the rule's analysis reads (`reads`: the network model reads `__init__` and
     `forward`; a rule of the construction alone, `__init__`), its bases' and the methods whose
     names any kept unit holds (`self._make_layer(...)`, `net.init_weights()`);
   - and, from the seeds of a rule that declares it, these relations (`follow`):
     `"users"`: the units that mention what the seed defines (a function's callers, an
     `.apply(fn)`, the statements that read a module-level name, transitively along
     module-level statements: data flow); `"subclasses"`: the classes of the file derived from
     the seed's class; `"class"`: the seed's whole class; `"module"`: every module-level
     statement of the file.
   Each distinct declaration has its own closure (what one rule reads does not widen what
   another keeps: a class kept for its construction keeps no `forward`); the file's text keeps
   the union. Dropped units become empty lines (a dropped method: `pass` at its indentation, so
   that a class keeps a body), so that lines and columns of kept code are those of the file:
   findings need no mapping back. Only the rules whose declaration has a seed in the file run
   on it (`Plan.applies`): a rule with no trigger in a file's code has no site there, the same
   premise as step 1's for a whole file. A file whose text is not lexed with certainty (an
   unterminated string), whose cut text does not parse, or of which the screen would keep most,
   is parsed whole.

Every step is linear in the file's size: one pass to blank strings, one to cut units, one regex
pass per unit for its words, and, per distinct declaration of the selected rules (a handful),
pairing that visits each unit and each (word, unit) pair at most once per call apart, and a
closure that visits each at most once. tests/test_screen.py runs every rule with the screen on
and off over the fixtures, the rules' examples, generated worst cases and the benchmark corpus
(as it is and with init bugs seeded into it), and asserts identical findings and identical sites;
toy rules that declare only their `needs` show that the screen never starves a rule it does not
know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple

from initlint import textscan
from initlint.textscan import Lazy, Unit

# The relations a rule may ask the screen to follow from its seeds.
RELATIONS = frozenset({"users", "subclasses", "class", "module"})
# The methods of a kept class that the network model reads (a rule's default `Needs.reads`); no
# one who mentions them names a definition of the file.
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
    # The methods of every kept class that the rule's analysis reads, besides those kept code names.
    reads: FrozenSet[str] = frozenset(MODEL_METHODS)
    # Words that spell a site only together with one of `pair_with` (`torch.zeros` is a site where
    # it becomes a tensor that trains: `nn.Parameter`, `requires_grad`, `.data`): in one unit, or
    # up to `pair_calls` calls apart (a unit holding one kind calls, by name, the function or method
    # holding the other, directly or through others). A pair_with word also counts as the first
    # part of a snake_case word (`weight` in `weight_ih`).
    paired: FrozenSet[str] = frozenset()
    pair_with: FrozenSet[str] = frozenset()
    # Regular expressions for the pair_with side that no word spells alone (`.weight = `: the
    # word `weight` is in every model, an assignment to it is not); found as `patterns` are.
    pair_patterns: Tuple[str, ...] = ()
    pair_calls: int = 1

    def __post_init__(self) -> None:
        unknown = set(self.follow) - RELATIONS
        if unknown:
            raise ValueError(f"unknown screen relations: {sorted(unknown)}")
        if bool(self.paired) != bool(self.pair_with or self.pair_patterns):
            raise ValueError("paired words need pair_with words or patterns, and the other way round")


def _substrings(words: Iterable[str]) -> Tuple[str, ...]:
    """The fewest substrings whose presence `may_match` must test: a word that contains another
    trigger is found by that one."""
    ordered = sorted(set(words), key=len)
    kept: List[str] = []
    for word in ordered:
        if not any(short in word for short in kept):
            kept.append(word)
    return tuple(kept)


class _Probes:
    """What `may_match` tests for a set of declarations, each distinct test once (rules share
    declarations: five rules, one CONSTANT_OR_ROWS)."""

    def __init__(self, needs: Sequence[Needs]) -> None:
        distinct = list(dict.fromkeys(needs))
        self.words = _substrings(word for need in distinct for word in need.triggers)
        self.patterns = tuple(_compiled(p) for p in dict.fromkeys(p for need in distinct for p in need.patterns))
        self.pairs = tuple(
            dict.fromkeys(
                (_substrings(n.paired), _substrings(n.pair_with), tuple(_compiled(p) for p in n.pair_patterns)) for n in distinct if n.paired
            )
        )


_PROBES: Dict[Tuple[Needs, ...], _Probes] = {}


def may_match(source: str, needs: Sequence[Needs]) -> bool:
    """False only when no rule's trigger is spelt anywhere in `source` (strings and comments
    included): then nothing in it can be reported."""
    key = tuple(needs)
    probes = _PROBES.get(key)
    if probes is None:
        probes = _PROBES[key] = _Probes(key)
    if any(probe in source for probe in probes.words):
        return True
    if any(pattern.search(source) for pattern in probes.patterns):
        return True
    return any(
        any(w in source for w in one) and (any(w in source for w in other) or any(p.search(source) for p in patterns))
        for one, other, patterns in probes.pairs
    )


_PATTERNS: Dict[str, "re.Pattern[str]"] = {}


def _compiled(pattern: str) -> "re.Pattern[str]":
    found = _PATTERNS.get(pattern)
    if found is None:
        found = _PATTERNS[pattern] = re.compile(pattern)
    return found


class Plan:
    """What of a file to parse: its units and which are kept."""

    def __init__(
        self, source: str, code: Optional[str], units: Optional[List[Unit]], keep: Optional[List[bool]], seeded: Optional[FrozenSet[Needs]] = None
    ) -> None:
        self.source, self._code, self.units, self.keep = source, code, units, keep
        # The declarations with a seed in the file (None: not known, as when the text could not be
        # lexed): a rule whose declaration has none has no site here, as a file with no trigger.
        self.seeded = seeded

    def applies(self, need: Needs) -> bool:
        """Whether a rule with this declaration can have a site in the file."""
        return self.seeded is None or need in self.seeded

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
        source, keep, out = self.source, self.keep, []
        for unit, kept in zip(self.units, keep):  # type: ignore[arg-type]
            piece = source[unit.start:unit.end]
            if kept:
                out.append(piece)
                continue
            blank = _line_breaks(piece)
            if unit.kind == "method" and keep[unit.parent]:  # type: ignore[index]
                indent = piece[: len(piece) - len(piece.lstrip(" \t"))]
                blank = f"{indent}pass" + blank  # on the method's first line: the class keeps a body
                # (a dropped class's methods go with it: a `pass` there would be an indented line)
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
    index = _Index(code, units)
    keep: Optional[List[bool]] = None
    seeded: List[Needs] = []
    for need in dict.fromkeys(needs):  # each distinct declaration once, in order
        kept = _Closure(index, need).keep_all()
        if kept is not None:
            seeded.append(need)
            keep = kept if keep is None else [a or b for a, b in zip(keep, kept)]
    return None if keep is None else Plan(source, code, units, keep, frozenset(seeded))


def _callable(unit: Unit) -> bool:
    """A function or method others call by name (not `__init__` / `forward`: every class has them,
    and who mentions them names no definition of the file)."""
    return unit.kind in ("def", "method") and unit.name not in MODEL_METHODS


class _Index:
    """What every closure of a file reads: each unit's words, and who defines what (built once)."""

    def __init__(self, code: str, units: List[Unit]) -> None:
        self.code, self.units = code, units
        findall = _WORD.findall
        self.words: List[FrozenSet[str]] = [frozenset(findall(code, u.start, u.end)) for u in units]
        self._mentions: Optional[Dict[str, List[int]]] = None
        self._vocabulary: Optional[FrozenSet[str]] = None
        self._callables: Optional[Dict[str, List[int]]] = None
        self._starts: Optional[List[int]] = None
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

    def starts(self) -> List[int]:
        """Where each unit starts (built once, for the patterns of every declaration)."""
        if self._starts is None:
            self._starts = [u.start for u in self.units]
        return self._starts

    def vocabulary(self) -> FrozenSet[str]:
        """Every word of the file (built once)."""
        if self._vocabulary is None:
            self._vocabulary = frozenset().union(*self.words)
        return self._vocabulary

    def callables(self) -> Dict[str, List[int]]:
        """name -> the functions and methods of that name (built once)."""
        if self._callables is None:
            index: Dict[str, List[int]] = {}
            for i, unit in enumerate(self.units):
                if _callable(unit):
                    index.setdefault(unit.name, []).append(i)
            self._callables = index
        return self._callables

    def mentions(self) -> Dict[str, List[int]]:
        """word -> the units that hold it (built once, when a relation first needs it)."""
        if self._mentions is None:
            index: Dict[str, List[int]] = {}
            for i, words in enumerate(self.words):
                for word in words:
                    index.setdefault(word, []).append(i)
            self._mentions = index
        return self._mentions


class _Closure:
    """The units one declaration keeps: its seeds, then everything they reach (see the module
    docstring)."""

    def __init__(self, index: _Index, need: Needs) -> None:
        self.index, self.need = index, need
        self.code, self.units, self.words = index.code, index.units, index.words
        self.defines, self.classes, self.members = index.defines, index.classes, index.members
        self.methods, self.subclasses = index.methods, index.subclasses
        self.keep = [False] * len(self.units)
        self.queue: List[int] = []
        self.kept_classes: Set[int] = set()
        self.method_words: Set[str] = set()  # every word of kept code: methods by that name are kept
        self.users_of: Set[str] = set()  # names whose users are kept
        self.seeds = [False] * len(self.units)  # the seeds: their relations (`follow`) are followed
        self.flows = [False] * len(self.units)  # module-level users: their own users are kept too

    # ---- what is kept ------------------------------------------------------------------------
    def keep_all(self) -> Optional[List[bool]]:
        """Which units the declaration keeps; None when no unit holds a trigger."""
        need = self.need
        if not self._seed():
            return None
        for i, unit in enumerate(self.units):
            if unit.imports or ("module" in need.follow and unit.kind == "module"):
                self._keep(i)
        if need.context:
            for i, words in enumerate(self.words):
                if not words.isdisjoint(need.context):
                    self._keep(i)
        self._close()
        return self.keep

    def _seed(self) -> bool:
        """Keep the units holding a trigger; whether there is one."""
        need = self.need
        hits = {i for i, words in enumerate(self.words) if not words.isdisjoint(need.triggers)}
        hits.update(self._matched(need.patterns))
        if need.paired:
            hits.update(self._pairs())
        for i in sorted(hits):
            self.seeds[i] = bool(need.follow)
            self._keep(i)
        return bool(hits)

    def _matched(self, patterns: Tuple[str, ...]) -> Set[int]:
        """The units where one of `patterns` matches (each run once over the file's code)."""
        if not patterns:
            return set()
        starts = self.index.starts()
        return {textscan.bisect_units(starts, m.start()) for p in patterns for m in _compiled(p).finditer(self.code)}

    def _pairs(self) -> Set[int]:
        """The units holding a paired word that meet a pair_with word: in the unit itself, or up
        to `pair_calls` calls apart in either direction (`__init__` -> `_init_weights` -> a walk;
        `torch.zeros(...)` handed to a helper that wraps it in `nn.Parameter`). Linear: one pass
        over the units' words per side and per call."""
        need, words = self.need, self.words
        paired = {i for i, w in enumerate(words) if not w.isdisjoint(need.paired)}
        if not paired:
            return set()
        with_ = need.pair_with | {word for word in self.index.vocabulary() if word.partition("_")[0] in need.pair_with}
        other = {i for i, w in enumerate(words) if not w.isdisjoint(with_)}
        other.update(self._matched(need.pair_patterns))
        if not other:
            return set()
        return paired & (other | self._calls(other, need.pair_calls) | self._callers(other, need.pair_calls))

    def _calls(self, start: Set[int], hops: int) -> Set[int]:
        """The functions and methods the units of `start` call, to `hops` calls deep (by name)."""
        defined, seen, frontier = self.index.callables(), set(start), set(start)
        for _ in range(hops):
            names = frozenset().union(*(self.words[i] for i in frontier))
            frontier = {j for name in names for j in defined.get(name, ()) if j not in seen}
            seen |= frontier
        return seen - start

    def _callers(self, start: Set[int], hops: int) -> Set[int]:
        """The units that call a function or method of `start`, to `hops` calls deep (by name)."""
        mentions, seen, frontier = self.index.mentions(), set(start), set(start)
        for _ in range(hops):
            names = {self.units[i].name for i in frontier if _callable(self.units[i])}
            frontier = {j for name in names for j in mentions.get(name, ()) if j not in seen}
            seen |= frontier
        return seen - start

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
            if self.seeds[i]:
                self._relations(unit, self.need.follow, owner)
            if self.flows[i] and unit.kind == "module":
                self._users(unit.defines)  # data flow along module-level statements

    def _keep_class(self, c: int) -> None:
        if c in self.kept_classes:
            return
        self.kept_classes.add(c)
        self._keep(c)
        for m in self.members.get(c, ()):
            name = self.units[m].name
            if name in self.need.reads or name in self.method_words:
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
        mentions = self.index.mentions()
        for name in fresh:
            for j in mentions.get(name, ()):
                if not self.flows[j]:
                    self.flows[j] = True
                    if self.keep[j] and self.units[j].kind == "module":
                        self.queue.append(j)  # read again, now for its users (at most twice a unit)
                self._keep(j)
