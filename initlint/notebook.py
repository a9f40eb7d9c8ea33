"""Jupyter notebooks: code cells -> one virtual module -> diagnostics with cell positions; fixes
written back into the changed cells' `source` only.

Cell numbers count every cell of the notebook from 1, markdown and raw cells included: the
number a reader counts down the page, VS Code's "Cell N of M", and ruff's `cell N`. Rows and
columns are relative to the cell. The code cells are joined (one newline between them) into one
virtual module, so facts cross cells as they do in the kernel: a class defined in cell 2 and its
weights zeroed in cell 5. IPython syntax (`%magic`, `!shell`, `x = !cmd`, `obj?`) is replaced by
`pass` at the line's indentation, which keeps every row and the block structure; a cell whose
first line is a non-Python cell magic (`%%bash`, `%%writefile`, ...) is left out altogether.

The notebook is read with the standard `json` module (no nbformat: the static install stays
light). A fix replaces only the JSON text of the changed cells' `source` values, written in the
notebook's own layout; every other byte of the file (outputs, metadata, indentation) is kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from json.decoder import scanstring
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from initlint.config import Settings
from initlint.diagnostic import INTERNAL_ERROR, IO_ERROR, Diagnostic, Edit, Fix, Location, file_error

# Cell magics whose body is Python that runs (or is timed, captured, profiled) as such.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "python", "python3", "pypy", "ipython", "tensorflow_version"})

_LINE_MAGIC = re.compile(r"^[ \t]*(?:%|!)")
_ASSIGNED_MAGIC = re.compile(r"^[ \t]*[\w.,\[\] \t*()]+=[ \t]*(?:%|!)")
_HELP = re.compile(r"^[ \t]*(?:\?{1,2}[\w.*]+|[\w.*]+\?{1,2})[ \t]*$")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


class NotebookError(Exception):
    """A file that is not a notebook we can read (bad JSON, wrong shape); the message says why."""


@dataclass(frozen=True)
class Cell:
    """One code cell: its 1-based number among all cells, its text and the text that is linted."""

    number: int
    index: int  # 0-based position in the notebook's `cells` list
    source: str
    code: str  # `source` with IPython syntax replaced; same rows; empty for skipped cells


@dataclass(frozen=True)
class Notebook:
    """A parsed notebook: its code cells and the virtual module they make."""

    text: str
    cells: Tuple[Cell, ...]
    python: bool  # False: the kernel runs another language, nothing is linted

    def virtual(self) -> str:
        """The code cells joined into one module (each cell ends with one newline)."""
        return "".join(_terminated(cell.code) for cell in self.cells)

    def starts(self) -> List[int]:
        """The 1-based virtual row at which each code cell begins."""
        rows, row = [], 1
        for cell in self.cells:
            rows.append(row)
            row += _row_count(cell.code)
        return rows


def _terminated(code: str) -> str:
    return code if code.endswith(("\n", "\r")) or not code else code + "\n"


def _row_count(code: str) -> int:
    return len(_LINE.findall(_terminated(code))) if code else 0


def _lines(text: str) -> List[str]:
    return _LINE.findall(text)


def _source_text(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "".join(value)
    if isinstance(value, str):
        return value
    raise NotebookError("a cell's `source` is neither a string nor a list of strings")


def python_code(source: str) -> str:
    """The cell's text with IPython syntax replaced by `pass`, row for row; "" for a non-Python cell magic."""
    lines = _lines(source)
    if lines and lines[0].lstrip().startswith("%%"):
        magic = lines[0].lstrip()[2:].split(None, 1)
        if not magic or magic[0] not in PYTHON_CELL_MAGICS:
            return ""
        lines[0] = _blank(lines[0])
    out = []
    state = _Continuation()
    magic_continues = False
    for line in lines:
        if magic_continues:
            # `!cmd \` continued on the next line: still the shell's, not Python
            magic_continues = line.rstrip("\r\n").endswith("\\")
            line = line[len(line.rstrip("\r\n")):]  # an empty line (not `pass`: it is indented)
        # Inside brackets, a string or after a backslash, `% x` and `!= y` are Python (black puts
        # operators first on a continuation line), not IPython syntax.
        elif state.at_statement_start() and (_LINE_MAGIC.match(line) or _ASSIGNED_MAGIC.match(line) or _HELP.match(line.rstrip("\r\n"))):
            magic_continues = line.rstrip("\r\n").endswith("\\")
            line = _blank(line)
        else:
            state.feed(line)
        out.append(line)
    return "".join(out)


class _Continuation:
    """Whether the next line starts a new statement: bracket depth, open strings, backslashes.
    A light scanner (no tokenize: IPython syntax in a cell would stop it)."""

    def __init__(self) -> None:
        self.depth = 0
        self.quote = ""  # the open string's quote: one or three of ' or "
        self.backslash = False

    def at_statement_start(self) -> bool:
        return self.depth == 0 and not self.quote and not self.backslash

    def feed(self, line: str) -> None:
        body = line.rstrip("\r\n")
        i, self.backslash = 0, False
        while i < len(body):
            char = body[i]
            if self.quote:
                if char == "\\":
                    i += 2
                    continue
                if body.startswith(self.quote, i):
                    i += len(self.quote)
                    self.quote = ""
                    continue
            elif char == "#":
                break
            elif char in "\"'":
                triple = body[i : i + 3]
                self.quote = triple if triple in ('"""', "'''") else char
                i += len(self.quote)
                continue
            elif char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(0, self.depth - 1)
            elif char == "\\" and i == len(body) - 1:
                self.backslash = True
            i += 1
        if self.quote in ("'", '"') and not self.backslash:
            self.quote = ""  # a one-line string cannot go on (a syntax error the parser reports)


def _blank(line: str) -> str:
    body = line.rstrip("\r\n")
    indent = body[: len(body) - len(body.lstrip(" \t"))]
    return f"{indent}pass{line[len(body):]}"


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    members: Dict[str, Any] = {}
    for key, value in pairs:
        if key in members:
            raise _Duplicate(f"the key {key!r} appears twice in one object")
        members[key] = value
    return members


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (a number must be finite)")


def load_json(text: str) -> Any:
    """Strict JSON: no NaN or Infinity, no key twice in one object (which one would Jupyter keep?),
    and nesting too deep to read is an error like any other; NotebookError says what is wrong."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _Duplicate as error:
        raise NotebookError(f"not valid JSON for a notebook: {error}") from None
    except ValueError as error:
        if "integer string conversion" in str(error):  # (Python's advice on sys.set_int_max_str_digits is not for the user)
            raise NotebookError("not valid JSON for a notebook: a number has thousands of digits") from None
        raise NotebookError(f"not valid JSON: {error}") from None
    except (RecursionError, MemoryError):
        raise NotebookError("not valid JSON for a notebook: nested too deeply to read") from None


def parse(text: str) -> Notebook:
    """Read a notebook's JSON text; NotebookError says why it is not one."""
    data = load_json(text)
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError("not a Jupyter notebook (no `cells` list)")
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    info = metadata.get("language_info") if isinstance(metadata.get("language_info"), dict) else {}
    kernel = metadata.get("kernelspec") if isinstance(metadata.get("kernelspec"), dict) else {}
    language = str(info.get("name") or kernel.get("language") or "python").lower()
    cells = []
    for index, raw in enumerate(data["cells"]):
        if not isinstance(raw, dict):
            raise NotebookError(f"cell {index + 1} is not an object")
        if raw.get("cell_type") != "code":
            continue
        source = _source_text(raw.get("source", ""))
        try:
            source.encode("utf-8")
        except UnicodeEncodeError:  # `"\ud800"` is valid JSON, but no text a cell can hold
            raise NotebookError(f"cell {index + 1}'s source holds a lone surrogate (not Unicode text)") from None
        cells.append(Cell(index + 1, index, source, python_code(source)))
    return Notebook(text, tuple(cells), language.startswith("python"))


# ---- linting -----------------------------------------------------------------------------------


def locate(notebook: Notebook, row: int) -> Tuple[Optional[int], int]:
    """A virtual row -> (cell number, row in the cell); (None, row) outside every cell."""
    starts = notebook.starts()
    for cell, start in reversed(list(zip(notebook.cells, starts))):
        if row >= start and cell.code:
            return cell.number, row - start + 1
    return None, row


def to_cells(notebook: Notebook, diagnostic: Diagnostic) -> Diagnostic:
    """A diagnostic on the virtual module -> one on the notebook (cell, cell-relative rows)."""
    if diagnostic.code in (IO_ERROR[0], INTERNAL_ERROR[0]):
        return diagnostic
    cell, row = locate(notebook, diagnostic.location.row)
    if cell is None:
        return diagnostic
    end_cell, end_row = locate(notebook, diagnostic.end_location.row)
    end = Location(end_row, diagnostic.end_location.column) if end_cell == cell else Location(row, diagnostic.location.column)
    fix = diagnostic.fix
    if fix is not None:
        # Reported edits are offsets into the cell's own source; a fix that reaches outside the
        # finding's cell (or into IPython syntax) is not offered, since --fix would not apply it.
        where = _localise(notebook, fix)
        mine = where is not None and notebook.cells[where[0]].number == cell
        fix = replace(fix, edits=tuple(Edit(*edit) for edit in where[1])) if mine else None
    return replace(diagnostic, cell=cell, location=Location(row, diagnostic.location.column), end_location=end, fix=fix)


def lint_notebook_text(text: str, path: str, settings: Settings) -> List[Diagnostic]:
    """Lint a notebook's JSON text: diagnostics with cell positions; IL902 if it is not a notebook."""
    from initlint.engine import lint_source

    try:
        notebook = parse(text)
    except NotebookError as error:
        return [file_error(IO_ERROR, path, f"cannot read notebook: {error}")]
    if not notebook.python:
        return []
    diagnostics = lint_source(notebook.virtual(), path, settings)
    return sorted((to_cells(notebook, d) for d in diagnostics), key=Diagnostic.sort_key)


def lint_notebook(path: str, data: bytes, settings: Settings):
    """`engine.lint_file` for a `.ipynb` file: a FileResult, never an exception."""
    from initlint.engine import FileResult

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return FileResult(path, (file_error(IO_ERROR, path, f"cannot read notebook: not valid UTF-8: {error}"),))
    try:
        diagnostics = tuple(lint_notebook_text(text, path, settings))
    except Exception as error:  # noqa: BLE001 - last line of defence: report, go on
        diagnostics = (file_error(INTERNAL_ERROR, path, f"internal error: {type(error).__name__}: {error}"),)
    # The JSON text goes to the reporters, which place cell findings on its lines (json_line).
    return FileResult(path, diagnostics, text if diagnostics else None)


def json_line(text: str, cell: int, row: int) -> Optional[int]:
    """The 1-based line of a notebook's JSON `text` that holds row `row` of cell number `cell`
    (every cell counted from 1), for viewers that show the .ipynb file itself: the line of the
    `source` list element where that row begins, or of the `source` string. None when the text
    is not a notebook with that cell."""
    try:
        span = source_spans(text).get(cell - 1)
        if span is None:
            return None
        start, end = span
        value = text[start:end]
        if value.startswith('"'):
            at = start
        else:
            elements = [(s, json.loads(value[s:e])) for s, e in _elements(value, 0)]
            source = "".join(part for _, part in elements)
            offset = sum(len(line) for line in _lines(source)[: max(row, 1) - 1])
            at, done = start, 0
            for element_start, part in elements:
                at = start + element_start
                if offset < done + len(part):
                    break
                done += len(part)
    except (ValueError, IndexError, TypeError, RecursionError):
        return None
    return text.count("\n", 0, at) + 1


# ---- fixing ------------------------------------------------------------------------------------


def _cell_spans(notebook: Notebook) -> List[Tuple[int, int]]:
    """Each code cell's [start, end) character span in the virtual module (its code, no joiner)."""
    spans, offset = [], 0
    for cell in notebook.cells:
        spans.append((offset, offset + len(cell.code)))
        offset += len(_terminated(cell.code))
    return spans


def _blanked_spans(cell: Cell) -> List[Tuple[int, int]]:
    """Spans (cell-relative) of the lines whose text the virtual module replaced."""
    spans, offset = [], 0
    for old, new in zip(_lines(cell.source), _lines(cell.code)):
        if old != new:
            spans.append((offset, offset + len(new)))
        offset += len(new)
    return spans


def _to_source(cell: Cell, offset: int) -> int:
    """A cell-relative offset into `code` -> the same place in `source` (rows and columns kept)."""
    done_code = done_source = 0
    for old, new in zip(_lines(cell.source), _lines(cell.code)):
        if offset < done_code + len(new) or (offset == done_code + len(new) and old == new):
            return done_source + min(offset - done_code, len(old))
        done_code += len(new)
        done_source += len(old)
    return len(cell.source) + (offset - done_code)


def _localise(notebook: Notebook, fix: Fix) -> Optional[Tuple[int, List[Tuple[int, int, str]]]]:
    """A fix's edits as (cell position, [(start, end, content)] into the cell's source), or None when
    they reach across cells or into a line of IPython syntax (such fixes are not applied)."""
    spans = _cell_spans(notebook)
    which = None
    for position, (start, end) in enumerate(spans):
        if notebook.cells[position].code and all(start <= e.start <= e.end <= end for e in fix.edits):
            which = position
            break
    if which is None:
        return None
    cell, base = notebook.cells[which], spans[which][0]
    blanked = _blanked_spans(cell)
    edits = []
    for edit in fix.edits:
        s, e = edit.start - base, edit.end - base
        if s < e and any(s < b_end and b_start < e for b_start, b_end in blanked):
            return None
        edits.append((_to_source(cell, s), _to_source(cell, e), edit.content))
    return which, edits


def _with_sources(notebook: Notebook, sources: Dict[int, str]) -> Notebook:
    cells = tuple(
        replace(c, source=sources[i], code=python_code(sources[i])) if i in sources else c for i, c in enumerate(notebook.cells)
    )
    return replace(notebook, cells=cells)


def _apply(notebook: Notebook, fixes: Sequence[Fix]) -> Tuple[Notebook, int]:
    """Apply the non-overlapping fixes (as `fix.select` picks them) to the cells' sources."""
    from initlint import fix as fixing

    located = {}
    for candidate in fixes:
        where = _localise(notebook, candidate)
        if where is not None:
            located[candidate] = where
    taken = fixing.select(notebook.virtual(), list(located))
    by_cell: Dict[int, List[Tuple[int, int, str]]] = {}
    for candidate in taken:
        position, edits = located[candidate]
        by_cell.setdefault(position, []).extend(edits)
    sources = {}
    for position, edits in by_cell.items():
        text = notebook.cells[position].source
        for start, end, content in sorted(edits, reverse=True):
            text = text[:start] + content + text[end:]
        sources[position] = text
    return _with_sources(notebook, sources), len(taken)


def fix_notebook(notebook: Notebook, lint: Callable[[str], Sequence[Diagnostic]], unsafe: bool = False, max_rounds: int = 10):
    """Lint the virtual module, apply wanted fixes inside single cells, repeat; (notebook, fixed, diagnostics, errors)."""
    from initlint import fix as fixing

    fixed, errors, seen = 0, [], {notebook.virtual()}
    rejected = set()
    current = list(lint(notebook.virtual()))
    for _ in range(max_rounds):
        wanted = [d.fix for d in current if fixing.wanted(d.fix, unsafe) and d.fix not in rejected]
        if not wanted:
            break
        new, count = _apply(notebook, wanted)
        if count and not fixing.parses(new.virtual()):
            new, count = notebook, 0
            for one in wanted:  # one at a time: drop the fix that breaks the code
                candidate, taken = _apply(notebook, [one])
                if taken and fixing.parses(candidate.virtual()):
                    new, count = candidate, taken
                    break
                if taken:
                    rejected.add(one)
                    errors.append("a fix would leave code that does not parse; not applied")
        if not count or new.virtual() in seen:
            break
        seen.add(new.virtual())
        notebook, fixed = new, fixed + count
        current = list(lint(notebook.virtual()))
    return notebook, fixed, [to_cells(notebook, d) for d in current], errors


def fix_file(path: str, settings: Settings, *, unsafe: bool = False, write: bool = True):
    """Fix a notebook file: a `fix.FileFix` whose before/after are the notebook's JSON text."""
    import functools

    from initlint import fix as fixing
    from initlint import writing
    from initlint.engine import ReadError, lint_source, read_bytes

    try:
        data = read_bytes(path)
        bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
        text = data[len(bom):].decode("utf-8")
        notebook = parse(text)
    except ReadError as error:
        raise fixing.FixError(f"cannot read: {error}") from None
    except (UnicodeDecodeError, NotebookError) as error:
        raise fixing.FixError(str(error)) from None
    lint = functools.partial(lint_source, path=path, settings=settings)
    fixed_nb, fixed, diagnostics, errors = fix_notebook(notebook, lint, unsafe=unsafe)
    try:
        after = write_sources(text, {c.index: c.source for c, old in zip(fixed_nb.cells, notebook.cells) if c.source != old.source})
    except (RecursionError, MemoryError):
        raise fixing.FixError("the notebook is nested too deeply to rewrite; not changed") from None
    written = False
    if write and after != text:
        try:
            writing.replace_contents(path, bom + after.encode("utf-8"), expected=data)
        except writing.WriteError as error:
            raise fixing.FixError(str(error)) from None
        written = True
    return fixing.FileFix(path, text, after, fixed, tuple(sorted(diagnostics, key=Diagnostic.sort_key)), tuple(errors), written)


# ---- writing cell sources back into the JSON text -------------------------------------------------

_WS = re.compile(r"[ \t\n\r]*")
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")


def _skip(text: str, at: int) -> int:
    return _WS.match(text, at).end()


_STRUCTURE = re.compile(r'["\[\]{}]')


def _value_end(text: str, at: int) -> int:
    """The end offset of the JSON value starting at `at` (the text is known to be valid JSON).
    Iterative: a notebook's outputs may nest deeper than Python's recursion limit."""
    char = text[at]
    if char == '"':
        return scanstring(text, at + 1)[1]
    if char not in "[{":
        return _SCALAR.match(text, at).end()
    depth = 0
    while True:
        at = _STRUCTURE.search(text, at).start()
        char = text[at]
        if char == '"':
            at = scanstring(text, at + 1)[1]
            continue
        depth += 1 if char in "[{" else -1
        at += 1
        if depth == 0:
            return at


def _members(text: str, at: int):
    """(key, value start, value end) of each member of the object starting at `at`."""
    at = _skip(text, at + 1)
    while text[at] != "}":
        key, at = scanstring(text, at + 1)
        at = _skip(text, _skip(text, at) + 1)
        end = _value_end(text, at)
        yield key, at, end
        at = _skip(text, end)
        if text[at] == ",":
            at = _skip(text, at + 1)


def _elements(text: str, at: int):
    """(start, end) of each element of the array starting at `at`."""
    at = _skip(text, at + 1)
    while text[at] != "]":
        end = _value_end(text, at)
        yield at, end
        at = _skip(text, end)
        if text[at] == ",":
            at = _skip(text, at + 1)


def source_spans(text: str) -> Dict[int, Tuple[int, int]]:
    """Cell index -> the [start, end) span of its `source` value in the notebook's JSON text."""
    root = _skip(text, 0)
    cells = next((s for key, s, _ in _members(text, root) if key == "cells"), None)
    spans = {}
    if cells is None:
        return spans
    for index, (start, _) in enumerate(_elements(text, cells)):
        for key, s, e in _members(text, start):
            if key == "source":
                spans[index] = (s, e)  # the last one wins, as it does for json.loads
    return spans


def _render_source(original: str, source: str, ascii_only: bool) -> str:
    """`source` as JSON in the layout of the `original` value (a string, or a list of lines)."""
    dump = lambda s: json.dumps(s, ensure_ascii=ascii_only)  # noqa: E731
    if original.startswith('"'):
        return dump(source)
    lines = _lines(source)
    elements = list(_elements(original, 0))
    if elements:
        lead = original[1 : elements[0][0]]
        tail = original[elements[-1][1] : -1]
        separator = original[elements[0][1] : elements[1][0]] if len(elements) > 1 else "," + (lead or " ")
    else:
        lead, tail, separator = "", "", ", "
    if not lines:
        return "[]"
    return "[" + lead + separator.join(dump(line) for line in lines) + tail + "]"


def write_sources(text: str, sources: Dict[int, str]) -> str:
    """The notebook text with the `source` of the given cells (by index) replaced, nothing else touched."""
    original = json.loads(text)["cells"]
    sources = {i: s for i, s in sources.items() if _source_text(original[i].get("source", "")) != s}
    if not sources:
        return text
    spans = source_spans(text)
    ascii_only = text.isascii() and "\\u" in text
    out = text
    for index in sorted(sources, reverse=True):
        start, end = spans[index]
        out = out[:start] + _render_source(text[start:end], sources[index], ascii_only) + out[end:]
    check = json.loads(out)
    expected = json.loads(text)
    for index, source in sources.items():
        expected["cells"][index]["source"] = source
        check["cells"][index]["source"] = _source_text(check["cells"][index]["source"])
    if check != expected:  # pragma: no cover - a bug of ours: never write a changed notebook
        raise ValueError("rewriting the cell sources changed something else in the notebook")
    return out
