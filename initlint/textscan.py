"""Reading Python source as text, fast and conservatively, for the screen (no libcst, no ast).

`code_only` blanks strings and comments (offsets kept); `units` cuts the result into top-level
statements and class members; `longest_statement` bounds how deep a statement can nest. Whatever
is not read with certainty raises `Unsure` (the file is then parsed whole) or errs on the side of
"may be": never the other way. Every function here is linear in the text it reads.
"""

from __future__ import annotations

import bisect
import re
from typing import Iterable, List, Optional, Tuple


class Lazy:
    """A regular expression compiled on first use: compiling them all at import would cost a run
    with nothing to check more than it does (re's compiler is written in Python)."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._pattern, self._flags = pattern, flags

    def __getattr__(self, name: str):
        method = getattr(re.compile(self._pattern, self._flags), name)
        setattr(self, name, method)  # found directly from now on
        return method


class Unsure(Exception):
    """The text is not lexed with certainty (an unterminated string, say): parse it whole."""


# ---- strings and comments blanked -----------------------------------------------------------
_NOT_NEWLINE = Lazy(r"[^\r\n]")


def code_only(text: str) -> str:
    """`text` with every string literal and comment replaced by spaces; line breaks and offsets kept.

    A scan with str.find over quotes and `#`: string prefixes need no handling (they change
    neither where a string ends nor, for raw strings, which quotes a backslash escapes)."""
    find = text.find
    n = len(text)
    out: List[str] = []
    copied = pos = 0
    single, double, hash_ = find("'"), find('"'), find("#")
    while True:
        if 0 <= single < pos:
            single = find("'", pos)
        if 0 <= double < pos:
            double = find('"', pos)
        if 0 <= hash_ < pos:
            hash_ = find("#", pos)
        p = n
        for candidate in (single, double, hash_):
            if 0 <= candidate < p:
                p = candidate
        if p == n:
            break
        char = text[p]
        if char == "#":
            end = find("\n", p)
            end = n if end < 0 else end
            cr = find("\r", p, end)
            end = cr if cr >= 0 else end
        elif text.startswith(char * 3, p):
            end = _end_of_triple(text, p, char * 3)
        else:
            end = _end_of_single(text, p, char)
        out.append(text[copied:p])
        piece = text[p:end]
        if "\r" in piece:
            out.append(_NOT_NEWLINE.sub(" ", piece))
        elif "\n" in piece:
            out.append("\n".join([" " * len(line) for line in piece.split("\n")]))
        else:
            out.append(" " * (end - p))
        copied = pos = end
    out.append(text[copied:])
    return "".join(out)


def _escaped(text: str, at: int, floor: int) -> bool:
    """Whether the character at `at` follows an odd run of backslashes (counted down to `floor`)."""
    b = at
    while b > floor and text[b - 1] == "\\":
        b -= 1
    return (at - b) % 2 == 1


def _end_of_triple(text: str, p: int, quote: str) -> int:
    j = p + 3
    while True:
        k = text.find(quote, j)
        if k < 0:
            raise Unsure("unterminated triple-quoted string")
        if not _escaped(text, k, j):
            return k + 3
        j = k + 1


def _end_of_single(text: str, p: int, quote: str) -> int:
    j = p + 1
    n = len(text)
    while True:
        k = text.find(quote, j)
        limit = k if k >= 0 else n
        nl = text.find("\n", j, limit)
        cr = text.find("\r", j, limit)
        if cr >= 0 and (nl < 0 or cr < nl):
            nl = cr
        if nl >= 0:  # a line break inside: only a backslash before it continues the string
            if not _escaped(text, nl, j):
                raise Unsure("line break in a string")
            j = nl + (2 if text.startswith("\r\n", nl) else 1)
            continue
        if k < 0:
            raise Unsure("unterminated string")
        if not _escaped(text, k, j):
            return k + 1
        j = k + 1


# ---- statements -----------------------------------------------------------------------------
def _for_last_text(compute):
    """`compute(code)`, remembered for the last text it was asked about (the screen reads one
    file at a time, and asks about it over and over)."""
    last: list = [None, None]

    def cached(code: str):
        if last[0] is not code:
            last[0], last[1] = code, compute(code)
        return last[1]

    return cached


_BRACKETS = str.maketrans("[{]}", "(())")
# `code` with `[` and `{` read as `(`, `]` and `}` as `)`: counting brackets then takes two calls
# of str.count, not six.
_brackets = _for_last_text(lambda code: code.translate(_BRACKETS))


def depth(segment: str, start: int = 0, end: Optional[int] = None) -> int:
    """Brackets opened minus brackets closed in a piece of code-only text (segment[start:end],
    counted in place: no copy of the piece)."""
    end = len(segment) if end is None else end
    count = _brackets(segment).count
    return count("(", start, end) - count(")", start, end)


def _starts(code: str, pattern: "re.Pattern[str]", start: int, end: int) -> List[int]:
    """Offsets in code[start:end] (which begins at bracket depth 0) of the lines that `pattern`
    (a line break and a lookahead) finds outside brackets and not continued by a backslash."""
    found: List[int] = []
    previous, level = start, 0
    count, opens = _brackets(code).count, code.startswith
    for match in pattern.finditer(code, start, end):
        p = match.end()
        level += count("(", previous, p) - count(")", previous, p)
        previous = p
        if level != 0:
            continue
        q = p - 2 if opens("\r\n", p - 2) else p - 1  # the line break before this line
        if q > 0 and code[q - 1] == "\\":
            continue
        found.append(p)
    return found


def statement_starts(code: str) -> List[int]:
    """Offsets of the lines that start top-level statements (and of the file's start)."""
    return [0] + _starts(code, _TOP_LINE, 0, len(code))


def logical_lines(code: str, start: int, end: int) -> List[int]:
    """Starts of the logical lines of code[start:end] (which begins at bracket depth 0)."""
    return [start] + _starts(code, _ANY_LINE, start, end)


_ANY_LINE = Lazy(r"\n(?=[ \t]*[^\s)\]}])")
_TOP_LINE = Lazy(r"\n(?=[^\s)\]}])")
_CONTINUES = Lazy(r"(?:else|elif|except|finally)\b")
_DEFINES = Lazy(r"(?:async[ \t]+)?(def|class)[\s\\]+(\w+)")
_IMPORT = Lazy(r"(?:import|from)\b")
_WORD = Lazy(r"[^\W\d]\w*")
# What a module-level statement may bind: assignment targets (also tuples and annotated ones),
# `for`/`with`/`except ... as`/`import ... as` names, nested defs and classes, `global` names;
# walrus targets (`name :=`) by a second pattern, run only where `:=` is. Each keyword starts its
# alternative, the boundary before it checked behind: an alternative that starts with any word
# character (the walrus's) would be tried, and scan a word, at every character of every word.
_NAMES = r"[^\W\d]\w*(?:[ \t]*,[ \t]*[^\W\d]\w*)*"
_BOUND = Lazy(
    r"^[ \t]*(" + _NAMES + r")[ \t]*,?[ \t]*(?::[^=\n]*)?=(?!=)"
    r"|for(?<!\wfor)[ \t(]+(" + _NAMES + r")"
    r"|as(?<!\was)[ \t]+([^\W\d]\w*)"
    r"|(?:def(?<!\wdef)|class(?<!\wclass))[ \t]+([^\W\d]\w*)"
    r"|global(?<!\wglobal)[ \t]+(" + _NAMES + r")",
    re.M,
)
_WALRUS = Lazy(r"(?<!\w)([^\W\d]\w*)[ \t]*:=")


class Unit:
    """A piece of a file the screen keeps or drops whole. The units partition the file:

    - "module": a top-level statement that is not a definition (with its `else:`/`except:` parts);
      `imports` says it is an import statement;
    - "def": a top-level function, with its decorators;
    - "class": a top-level class's header (decorators, `class` line, docstring and the statements
      of its body before the first method); its methods follow as units of their own;
    - "method": one method of the class at `parent`, with its decorators (and any class-level
      statement between it and the next method).
    `defines` holds the names a module-level unit may bind (its name, for a def or a class);
    `bases`, for a class, the words of its header between the brackets.
    """

    __slots__ = ("start", "end", "kind", "name", "parent", "defines", "bases", "imports")

    def __init__(self, start: int, end: int, kind: str, name: str, parent: int = -1, defines: frozenset = frozenset(), bases: frozenset = frozenset(), imports: bool = False) -> None:
        self.start, self.end, self.kind, self.name, self.parent = start, end, kind, name, parent
        self.defines, self.bases, self.imports = defines, bases, imports

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Unit({self.kind} {self.name!r} {self.start}:{self.end})"


def units(code: str, starts: Optional[List[int]] = None) -> List[Unit]:
    """Cut code-only text into units (see `Unit`); `starts`: its `statement_starts`, if known.
    Linear in the text: each piece is read a bounded number of times."""
    starts = statement_starts(code) if starts is None else starts
    bounds = list(zip(starts, starts[1:] + [len(code)]))
    groups: List[List] = []  # [start, end, kind, name]
    decorated: Optional[int] = None
    for start, end in bounds:
        head = code[start:start + 40]
        if head.startswith("@"):
            decorated = start if decorated is None else decorated
            continue
        if decorated is None and groups and _CONTINUES.match(head):
            groups[-1][1] = end  # `else:` / `except:` belong to the statement before
            continue
        match = _DEFINES.match(head)
        first = decorated if decorated is not None else start
        decorated = None
        if match is None:
            groups.append([first, end, "module", ""])  # every top-level statement is a unit of its own
        else:
            groups.append([first, end, match.group(1), match.group(2)])
    if decorated is not None:
        groups.append([decorated, len(code), "module", ""])
    out: List[Unit] = []
    for start, end, kind, name in groups:
        if kind == "module":
            imports = _IMPORT.match(code, start) is not None
            out.append(Unit(start, end, kind, "", defines=_bound(code, start, end), imports=imports))
        elif kind == "def":
            out.append(Unit(start, end, kind, name, defines=frozenset((name,))))
        else:
            out.extend(_class_units(code, start, end, name, len(out)))
    return out


def _bound(code: str, start: int, end: int) -> frozenset:
    """The names a module-level statement may bind (a superset)."""
    found = set()
    for match in _BOUND.finditer(code, start, end):
        for group in match.groups():
            if group:
                found.update(_WORD.findall(group))
    if code.find(":=", start, end) >= 0:
        found.update(match.group(1) for match in _WALRUS.finditer(code, start, end))
    if _IMPORT.match(code, start):
        text = code[start:end]
        if text.startswith("from"):
            text = text.partition("import")[2]
        found.update(word for word in _WORD.findall(text) if word not in ("import", "as"))
    return frozenset(found)


def _header_end(code: str, at: int, end: int) -> Optional[int]:
    """The line break that ends the `class ...:` header starting at `at` (outside brackets, not
    after a backslash), or None."""
    level = 0
    while True:
        newline = code.find("\n", at, end)
        if newline < 0:
            return None
        level += depth(code, at, newline)
        at = newline + 1
        before = newline - 1 if newline and code[newline - 1] == "\r" else newline
        if level == 0 and not (before and code[before - 1] == "\\"):
            return newline


def _class_units(code: str, start: int, end: int, name: str, index: int) -> List[Unit]:
    """A class's header unit and one unit per method (the class whole when its body is not a plain
    indented block of statements)."""
    keyword = _DEFINES.search(code, start, end)
    newline = _header_end(code, keyword.start(), end) if keyword is not None else None
    header = code[keyword.end():newline] if keyword is not None and newline is not None else ""
    bases = frozenset(_WORD.findall(header.partition("(")[2])) if "(" in header else frozenset()
    whole = [Unit(start, end, "class", name, defines=frozenset((name,)), bases=bases)]
    if newline is None:
        return whole
    found = _ANY_LINE.search(code, newline, end)
    if found is None:
        return whole
    body = found.end()
    indent_match = re.match(r"[ \t]*", code[body:body + 200])
    indent = indent_match.group() if indent_match else ""
    if not indent:
        return whole  # `class A: pass`, or something odd: keep the class whole
    # Every non-blank line of the body must be indented at least as deep as its first line.
    if re.compile(r"\n(?!" + re.escape(indent) + r")[ \t]*[^\s]").search(code, body - 1, end):
        return whole
    members = [body] + _starts(code, re.compile(r"\n(?=" + re.escape(indent) + r"[^\s)\]}])"), body, end)
    methods: List[List] = []  # [start, name]
    decorated: Optional[int] = None
    for p in members:
        head = code[p + len(indent):p + len(indent) + 40]
        if head.startswith("@"):
            decorated = p if decorated is None else decorated
            continue
        match = _DEFINES.match(head)
        if match is not None and match.group(1) == "def":
            methods.append([decorated if decorated is not None else p, match.group(2)])
        decorated = None
    if not methods:
        return whole
    # The header unit is the class's text before its first method: one unit must be contiguous,
    # so any statement between methods stays with the method before it.
    out = [Unit(start, methods[0][0], "class", name, defines=whole[0].defines, bases=bases)]
    for i, (m_start, m_name) in enumerate(methods):
        m_end = methods[i + 1][0] if i + 1 < len(methods) else end
        out.append(Unit(m_start, m_end, "method", m_name, parent=index))
    return out


def longest_statement(code: str, source: str, ranges: Optional[Iterable[Tuple[int, int]]] = None) -> int:
    """A bound on how deep any statement of `source` (its code-only text `code`) can nest its
    syntax tree: over its logical lines, the non-blank characters plus twice the indentation.
    (Every level of an expression costs at least one character, every level of blocks at least
    one column of indentation and adds at most two levels; a string is a leaf, except an
    f-string, whose expressions count in full.) `ranges`: only the statements of these pieces
    (each starting at bracket depth 0: whole units)."""
    deepest = 0
    for first, last in ((0, len(code)),) if ranges is None else ranges:
        starts = logical_lines(code, first, last)
        for start, end in zip(starts, starts[1:] + [last]):
            if end - start <= deepest:
                continue  # cannot beat the best so far
            piece = code[start:end]
            if _F_STRING.search(source, start, end):
                piece = source[start:end]
            indent = len(piece) - len(piece.lstrip(" \t"))
            blank = piece.count(" ") + piece.count("\t") + piece.count("\n") + piece.count("\r") + piece.count("\f")
            deepest = max(deepest, len(piece) - blank + 2 * indent)
    return deepest


_F_STRING = Lazy(r"(?<![\w])[rRbB]?[fF][rRbB]?['\"]")


# ---- words ----------------------------------------------------------------------------------
def is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"



def bisect_units(starts: List[int], offset: int) -> int:
    """Index of the unit holding `offset`, given the units' starts."""
    return bisect.bisect_right(starts, offset) - 1
