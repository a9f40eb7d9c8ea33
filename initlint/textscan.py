"""Reading Python source as text, fast and conservatively, for the screen (no libcst, no ast).

`code_only` blanks strings and comments (offsets kept); `units` cuts the result into top-level
statements and class members; `imports` reads the import table; the rest finds words and
statements. Whatever is not read with certainty raises `Unsure` (the file is then parsed whole) or
errs on the side of "may be": never the other way.
"""

from __future__ import annotations

import bisect
import re
from keyword import iskeyword
from typing import Dict, Iterable, List, Optional, Set, Tuple


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
_CLASSES = Lazy(r"class[\s\\]+(\w+)")


def class_names(code: str, start: int, end: int) -> frozenset:
    """Names of the classes defined (at any depth) in code[start:end]."""
    starts, ends, names = _class_index(code)
    first = bisect.bisect_left(starts, start)
    return frozenset(names[i] for i in range(first, bisect.bisect_left(starts, end)) if ends[i] <= end)


def _index_classes(code: str) -> Tuple[List[int], List[int], List[str]]:
    """Where every `class <name>` of `code` starts and ends, and the names."""
    found = [m for m in _CLASSES.finditer(code) if m.start() == 0 or not is_word_char(code[m.start() - 1])]
    return [m.start() for m in found], [m.end() for m in found], [m.group(1) for m in found]


_class_index = _for_last_text(_index_classes)  # (one scan per text)
_ANY_DEF = Lazy(r"^[ \t]*(?:async[ \t]+)?(?:def|class)[\s\\]+(\w+)", re.M)


class Unit:
    """A piece of a file the screen keeps or drops whole. The units partition the file:

    - "module": a top-level statement that is not a definition (with its `else:`/`except:` parts);
    - "def": a top-level function, with its decorators;
    - "class": a top-level class's header (decorators, `class` line, docstring and any statement
      of its body that is not a method); its methods follow as units of their own;
    - "method": one method of the class at `parent`, with its decorators.
    `classes` holds the names of the classes a unit defines (a class header: its class and every
    class nested in it); `defines`, for module units, the functions and classes defined inside.
    """

    __slots__ = ("start", "end", "kind", "name", "parent", "classes", "defines")

    def __init__(self, start: int, end: int, kind: str, name: str, parent: int, classes: frozenset, defines: frozenset = frozenset()) -> None:
        self.start, self.end, self.kind, self.name, self.parent = start, end, kind, name, parent
        self.classes, self.defines = classes, defines

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Unit({self.kind} {self.name!r} {self.start}:{self.end})"


def units(code: str, starts: Optional[List[int]] = None) -> List[Unit]:
    """Cut code-only text into units (see `Unit`); `starts`: its `statement_starts`, if known."""
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
            groups.append([first, end, "class" if match.group(1) == "class" else "def", match.group(2)])
    if decorated is not None:
        groups.append([decorated, len(code), "module", ""])
    out: List[Unit] = []
    for start, end, kind, name in groups:
        text = code[start:end]
        if kind == "module":
            defines = frozenset(_ANY_DEF.findall(text)) if ("def" in text or "class" in text) else frozenset()
            out.append(Unit(start, end, kind, "", -1, class_names(code, start, end), defines))
        elif kind == "def":
            out.append(Unit(start, end, kind, name, -1, class_names(code, start, end)))
        else:
            out.extend(_class_units(code, start, end, name, len(out)))
    return out


def _class_units(code: str, start: int, end: int, name: str, index: int) -> List[Unit]:
    """A class's header unit and one unit per method (none when the body is not a plain block)."""
    whole = [Unit(start, end, "class", name, -1, class_names(code, start, end) | {name})]
    keyword = _DEFINES.search(code, start, end)
    if keyword is None:
        return whole
    # The header ends at the first line break outside brackets and not after a backslash.
    level, at = 0, keyword.start()
    while True:
        newline = code.find("\n", at, end)
        if newline < 0:
            return whole
        level += depth(code, at, newline)
        at = newline + 1
        if level == 0 and not code[:newline].rstrip("\r").endswith("\\"):
            break
    found = _ANY_LINE.search(code, newline, end)
    if found is None:
        return whole
    body = found.end()
    indent_match = re.match(r"[ \t]*", code[body:body + 200])
    indent = indent_match.group() if indent_match else ""
    if not indent:
        return whole  # `class A: pass`, or something odd: keep the class whole
    members = [body] + _starts(code, re.compile(r"\n(?=" + re.escape(indent) + r"[^\s)\]}])"), body, end)
    # Every non-blank line of the body must be indented at least as deep as its first line.
    if re.search(r"\n(?!" + re.escape(indent) + r")[ \t]*[^\s]", code[body - 1:end]):
        return whole
    pieces: List[List] = []  # [start, end, kind, name]
    decorated: Optional[int] = None
    for i, p in enumerate(members):
        q = members[i + 1] if i + 1 < len(members) else end
        head = code[p + len(indent):p + len(indent) + 40]
        if head.startswith("@"):
            decorated = p if decorated is None else decorated
            continue
        match = _DEFINES.match(head)
        first = decorated if decorated is not None else p
        decorated = None
        if match is not None and match.group(1) == "def":
            pieces.append([first, q, "method", match.group(2)])
        elif pieces and pieces[-1][2] == "attrs":
            pieces[-1][1] = q
        else:
            pieces.append([first, q, "attrs", ""])
    if decorated is not None:
        pieces.append([decorated, end, "attrs", ""])
    methods = [piece for piece in pieces if piece[2] == "method"]
    if not methods:
        return whole
    # The header unit is the class's text less its methods: one unit must be contiguous, so any
    # statement between methods stays with the method before it (it is kept whenever that is).
    out = [Unit(start, methods[0][0], "class", name, -1, whole[0].classes)]
    for i, (m_start, _m_end, _kind, m_name) in enumerate(methods):
        m_end = methods[i + 1][0] if i + 1 < len(methods) else end
        out.append(Unit(m_start, m_end, "method", m_name, index, class_names(code, m_start, m_end)))
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
_STEMS: Dict[str, "re.Pattern[str]"] = {}


def is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def words(code: str, stem: str, start: int = 0, end: Optional[int] = None) -> Iterable[Tuple[int, str]]:
    """(offset, word) of every whole word that begins with `stem` in code[start:end]."""
    end = len(code) if end is None else end
    pattern = _STEMS.get(stem)
    if pattern is None:
        # The stem, then a look-behind: not inside a longer word (\w is str.isalnum() or "_",
        # as is_word_char; the look-behind sees the text before `start` too). Leading with the
        # literal keeps the regex engine's fast scan for it; a leading look-behind is 50x slower.
        escaped = re.escape(stem)
        pattern = _STEMS[stem] = re.compile(escaped + r"(?<!\w" + escaped + r")\w*")
    for match in pattern.finditer(code, start, end):
        yield match.start(), match.group()


def exact(code: str, word: str, start: int = 0, end: Optional[int] = None) -> List[int]:
    """Offsets of the whole-word occurrences of `word` in code[start:end] (those of `words(code,
    word, start, end)` that are `word` itself), by str.find: no regular expression to compile."""
    end = len(code) if end is None else end
    found: List[int] = []
    find, size = code.find, len(word)
    p = find(word, start, end)
    while p >= 0:
        q = p + size
        if (p == 0 or not is_word_char(code[p - 1])) and (q >= end or not is_word_char(code[q])):
            found.append(p)
        p = find(word, q, end)
    return found


def has_word(code: str, word: str, start: int = 0, end: Optional[int] = None) -> bool:
    """Whether `word` occurs as a whole word in code[start:end]."""
    return bool(exact(code, word, start, end))


SPACE = " \t\r\n\f\\"

# Last names that hold a whole shape, not one size (`torch.ones(shape)`, `x.shape`): read alike by
# `exprs.shape_of_sizes` and the screen's guess of a constructor's dimensions.
SHAPE_NAMES = ("shape", "size", "sizes", "dims", "dimensions")


def names_a_shape(last: str) -> bool:
    last = last.lower()
    return last in SHAPE_NAMES or last.endswith("shape")


def dotted_before(code: str, i: int) -> Optional[Tuple[str, int]]:
    """(the word, where it starts) before the `.` that precedes offset `i`, blanks allowed around
    the dot ('' when no word is there: `f().x`); None when no `.` precedes `i`."""
    j = i - 1
    while j >= 0 and code[j] in SPACE:
        j -= 1
    if j < 0 or code[j] != ".":
        return None
    j -= 1
    while j >= 0 and code[j] in SPACE:
        j -= 1
    stop = j + 1
    while j >= 0 and is_word_char(code[j]):
        j -= 1
    return code[j + 1:stop], j + 1


def receiver(code: str, p: int) -> Optional[List[str]]:
    """The dotted names before the word at `p`: [] for a bare name, ["torch", "nn", "init"] for
    `torch.nn.init.zeros_`, None when the receiver is not a plain chain (`f().x`, `a[0].x`)."""
    chain: List[str] = []
    i = p
    while True:
        found = dotted_before(code, i)
        if found is None:
            return chain
        word, i = found
        if not word or word[0].isdigit():
            return None
        chain.insert(0, word)


def called(code: str, p: int, word: str) -> bool:
    """Whether the word at `p` is followed by `(` (a call)."""
    i = p + len(word)
    while i < len(code) and code[i] in SPACE:
        i += 1
    return i < len(code) and code[i] == "("


# ---- the import table -----------------------------------------------------------------------
_NAMES_TAIL = Lazy(r"[\s\\]*(\([^)]*\)|(?:[^;\n\\]|\\\r?\n)*)")
_DOTTED = Lazy(r"\w+(?:\.\w+)*")
_WORD = Lazy(r"\w+")
_BLANKS = Lazy(r"[\s\\]+")
_AS = Lazy(r"[\s\\]+as[\s\\]+")
_FROM_MODULE = Lazy(r"from((?:[^;\n\\]|\\\r?\n)*?)$")


def imports(code: str) -> Optional[Dict[str, Set[str]]]:
    """Local name -> every qualified name an import statement may bind it to, read as
    `initlint.imports.ImportTable.add` reads them (star imports bind nothing; relative ones keep
    their dots); None when some import is not understood."""
    return merged(import_statements(code))


def merged(statements: Iterable[Tuple[int, Optional[Dict[str, Set[str]]]]]) -> Optional[Dict[str, Set[str]]]:
    """One table from some of `import_statements`' (None when one of them is None)."""
    table: Dict[str, Set[str]] = {}
    for _at, bound in statements:
        if bound is None:
            return None
        for name, qualified in bound.items():
            table.setdefault(name, set()).update(qualified)
    return table


def import_statements(code: str) -> List[Tuple[int, Optional[Dict[str, Set[str]]]]]:
    """(offset of the `import` keyword, what it binds as `imports` reads it or None when it is
    not understood), for every import in `code`."""
    return [(at, _import_statement(code, at)) for at in exact(code, "import")]


def _import_statement(code: str, at: int) -> Optional[Dict[str, Set[str]]]:
    table: Dict[str, Set[str]] = {}
    names = _import_names(code, at + len("import"))
    if names is None:
        return None
    line = code.rfind("\n", 0, at) + 1
    while line > 1 and code[line - 2] == "\\":  # a backslash continues the line before
        line = code.rfind("\n", 0, line - 1) + 1
    head = code[line:at]
    semicolon = head.rfind(";")
    head = head[semicolon + 1:] if semicolon >= 0 else head
    origin = _FROM_MODULE.search(head)
    while origin is not None and origin.start() > 0 and is_word_char(head[origin.start() - 1]):
        origin = _FROM_MODULE.search(head, origin.start() + 1)  # `datafrom`: not the keyword
    if origin is not None:
        module = _BLANKS.sub("", origin.group(1))
        if names == ["*"]:
            return table
        dots = len(module) - len(module.lstrip("."))
        if module[dots:] and not _DOTTED.fullmatch(module[dots:]):
            return None
        for name in names:
            parts = _AS.split(name)
            if len(parts) > 2 or not all(_WORD.fullmatch(part) for part in parts):
                return None
            # As ImportTable.add: `from ... import x` -> `...x`, `from .m import x` -> `.m.x`.
            bound = f"{module}.{parts[0]}" if module and not module.endswith(".") else f"{module}{parts[0]}"
            table.setdefault(parts[-1], set()).add(bound)
        return table
    for name in names:
        parts = _AS.split(name)
        dotted = _BLANKS.sub("", parts[0])
        if len(parts) > 2 or not _DOTTED.fullmatch(dotted) or (len(parts) == 2 and not _WORD.fullmatch(parts[1])):
            return None
        if len(parts) == 2:
            table.setdefault(parts[1], set()).add(dotted)
        else:
            head_name = dotted.split(".", 1)[0]
            table.setdefault(head_name, set()).add(head_name)
    return table


def _import_names(code: str, at: int) -> Optional[List[str]]:
    match = _NAMES_TAIL.match(code, at)
    text = match.group(1) if match else ""
    if text.startswith("("):
        if not text.endswith(")"):
            return None
        text = text[1:-1]
    items = [item.strip(SPACE) for item in text.split(",")]
    if items and not items[-1]:
        items.pop()  # a trailing comma
    if not items or not all(items):
        return None
    return items


def canonical(qualified: str, init_modules: Iterable[str]) -> str:
    """`initlint.imports.ImportTable.canonical`, for text (tests/test_screen.py checks they agree)."""
    for module in ("torch.nn.init", *init_modules):
        if qualified.startswith(module + "."):
            return "torch.nn.init." + qualified[len(module) + 1:]
        if qualified.startswith(".") and module != "torch.nn.init":
            tail = qualified.lstrip(".")
            for i in range(module.count(".") + 1):
                suffix = module.split(".", i)[-1]
                if suffix and tail.startswith(suffix + "."):
                    return "torch.nn.init." + tail[len(suffix) + 1:]
    for prefix, into in (("torch.nn.modules.", "torch.nn."), ("torch.nn.parameter.", "torch.nn."), ("torch.functional.", "torch.")):
        if qualified.startswith(prefix):
            return into + qualified.rsplit(".", 1)[-1]
    return qualified


# ---- assignments ----------------------------------------------------------------------------
# An annotation between a target and its `=`: it may span lines only inside brackets or after a
# backslash (so `def f(self):` and the next line's `x = 1` are no annotated `self`).
ANNOTATION = r"(?:[^=\n;\[(\\]|\\\r?\n|\\|\[[^\]=]*\]|\([^)=]*\))*"
_TARGET = Lazy(rf"(\w+)[\s\\)]*(?::{ANNOTATION})?=(?!=)")


def bindings(pattern: "Lazy", text: str, start: int = 0, end: Optional[int] = None) -> Iterable["re.Match[str]"]:
    """The matches in text[start:end] of `pattern`, a target (group 1), perhaps an annotation, and
    `=`: like `finditer`, but a keyword is no target (`else: x = 1` binds `x`, it does not annotate
    `else`), and the search goes on just past it."""
    end = len(text) if end is None else end
    p = start
    while True:
        match = pattern.search(text, p, end)
        if match is None:
            return
        if iskeyword(match.group(1)):
            p = match.start(1) + len(match.group(1))
            continue
        yield match
        p = match.end()


def assigned(text: str, bare: bool = False) -> Set[str]:
    """The last names of everything `text` may bind with `=` (a superset: keyword arguments and
    annotations count too); with `bare`, only names not reached through a dot (`x`, not `self.x`)."""
    found: Set[str] = set()
    for match in bindings(_TARGET, text):
        p = match.start()
        if p and is_word_char(text[p - 1]):
            continue
        if bare:
            j = p - 1
            while j >= 0 and text[j] in SPACE:
                j -= 1
            if j >= 0 and text[j] == ".":
                continue
        found.add(match.group(1))
    return found


def bisect_units(starts: List[int], offset: int) -> int:
    """Index of the unit holding `offset`, given the units' starts."""
    return bisect.bisect_right(starts, offset) - 1
