"""One file: read -> screen -> parse once -> collect facts -> every rule -> suppress -> diagnostics.

Results are plain picklable data, so linting many files in parallel is a map.
"""

from __future__ import annotations

import io
import os
import re
import stat
import sys
import tokenize
import dataclasses
import gc
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple, Type

from initlint import screen
from initlint.config import Settings, ignored_for
from initlint.diagnostic import (
    FILE_ERROR_CODES,
    INTERNAL_ERROR,
    IO_ERROR,
    SYNTAX_ERROR,
    Diagnostic,
    Location,
    file_error,
)

if TYPE_CHECKING:  # pragma: no cover - the rules (and libcst) are imported only when a file is parsed
    import ast

    from initlint.rule import Rule

# Larger sources are refused rather than parsed: libcst needs minutes and gigabytes for them.
MAX_SOURCE_CHARS = 20_000_000

_RECURSION_LIMIT = 20_000

# Below this many files, starting worker processes costs more than it saves.
_PARALLEL_THRESHOLD = 8

# The screen (initlint.screen) decides what reaches libcst. INITLINT_NO_SCREEN=1 parses every file
# whole, for the screen-on/screen-off equivalence test.
SCREEN = os.environ.get("INITLINT_NO_SCREEN", "") != "1"


@dataclass(frozen=True)
class FileResult:
    """What linting one file produced; `source` is kept only when there is something to show or fix."""

    path: str
    diagnostics: Tuple[Diagnostic, ...]
    source: Optional[str] = None
    # Problems of the run rather than the file (the cache cannot be written), each said once per
    # process; the command line prints them on stderr.
    warnings: Tuple[str, ...] = ()


class ReadError(Exception):
    """A file that cannot be read as Python source; the message says why."""


def read_source(path: str) -> str:
    """Decode a file the way Python does (BOM, coding cookie, UTF-8 by default)."""
    return decode(read_bytes(path))


_NOT_REGULAR = "not a regular file (a pipe, socket or device)"
# Opening a fifo for reading blocks until a writer comes; O_NONBLOCK makes it return at once, so
# that a fifo swapped in after the stat is caught by the fstat below (no effect on regular files).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _open_nonblocking(path: str, flags: int) -> int:
    return os.open(path, _OPEN_FLAGS)


def read_bytes(path: str) -> bytes:
    """A file's bytes; the error says why not. Never blocks on a fifo nor opens a device."""
    try:
        # A fifo (or a device) named `*.py` would block the run for ever on open() or read().
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise ReadError("is a directory")
        if not stat.S_ISREG(mode):
            raise ReadError(_NOT_REGULAR)
        with open(path, "rb", opener=_open_nonblocking) as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ReadError(_NOT_REGULAR)
            return handle.read()
    except IsADirectoryError:
        raise ReadError("is a directory") from None
    except OSError as error:
        raise ReadError(error.strerror or str(error)) from None


def decode(data: bytes) -> str:
    """Bytes -> text, with clear errors for binary and mis-encoded files."""
    if b"\x00" in data:
        raise ReadError("contains NUL bytes: not a Python source file")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        # detect_encoding says "invalid or missing encoding declaration" for non-UTF-8 bytes
        raise ReadError(f"not valid UTF-8 and no usable coding declaration ({error.msg if hasattr(error, 'msg') else error})") from None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise ReadError(f"not valid {encoding}: {error}") from None
    return text[1:] if text.startswith("\ufeff") else text


def selected_rules(settings: Settings) -> List[Type[Rule]]:
    """The rule classes a run uses, in code order."""
    from initlint.rules import ALL_RULES

    return [rule for rule in ALL_RULES if rule.code in settings.select]


def applied_codes(path: str, settings: Settings) -> Tuple[str, ...]:
    """The rule codes that apply to `path` (the selection less its per-file-ignores)."""
    off = set(ignored_for(path, settings))
    return tuple(code for code in settings.select if code not in off)


def lint_source(source: str, path: str, settings: Settings, rules: Optional[Sequence[Type["Rule"]]] = None, matched: bool = False) -> List[Diagnostic]:
    """Lint one file's text; never raises for anything the file contains. `matched`: the caller
    has seen `screen.may_match` say yes for these rules (it is not asked again)."""
    codes = applied_codes(path, settings)
    if not codes:
        return []
    rules = selected_rules(settings) if rules is None else rules
    rules = [rule for rule in rules if rule.code in codes]
    if not rules:
        return []
    plan: Optional[screen.Plan] = None
    needs = _needs(rules)
    if SCREEN and needs is not None:
        plan = screen.plan(source, needs, matched=matched)
        if plan is None:
            return []  # nothing in the file can be reported: libcst is never imported for it
        rules = [rule for rule in rules if plan.applies(rule.needs)]  # (the others have no site here)
        if plan.partial and plan.kept_chars() * 4 > len(source) * 3:
            plan.whole()  # it keeps most of the file: cutting would save little
    if len(source) > MAX_SOURCE_CHARS:
        return [file_error(SYNTAX_ERROR, path, f"cannot parse: {_too_deep(source)}")]
    import libcst as cst  # only files that pass the screen pay for libcst

    # Long legal chains (`a + b + ...` over a thousand terms) nest libcst's tree deeply; Python
    # 3.11+ calls between Python functions need no C stack, so a higher limit is safe while we
    # walk it. CPython's own parser (in _too_deep) keeps running under the normal limit.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _RECURSION_LIMIT))
    # A parse makes hundreds of thousands of objects that live as long as the file's check and
    # go with it by reference counting; the cyclic collector, run every 700 of them, would scan
    # the growing tree again and again (an eighth of the time, measured on the corpus). It is off
    # while one file is checked, and what cycles the check leaves go at the next collection.
    collecting = gc.isenabled()
    gc.disable()
    try:
        diagnostics = _screened(cst, source, path, settings, rules, plan)
        if diagnostics and not _file_errors(diagnostics):
            # Findings in a file that does not parse would mislead: before reporting any, CPython's
            # parser (a tenth of libcst's cost) reads all of it, the definitions the screen dropped
            # too, and a file it rejects is parsed whole, so that libcst reports the error where it
            # is. Without findings a dropped definition is never parsed, as a file the screen drops
            # is never read: checking every file whole would cost a fifth of a cold run.
            longest = plan.longest_statement(everything=True) if plan is not None else None
            refusal, parses = _cpython_verdict(source, _may_nest(source, longest) if longest is not None else None)
            if refusal is not None:
                return [file_error(SYNTAX_ERROR, path, f"cannot parse: {refusal}")]
            if not parses and plan is not None and plan.partial:  # (parsed whole already: libcst took it)
                diagnostics = _parse_and_check(cst, source, source, path, settings, rules).diagnostics()
    finally:
        sys.setrecursionlimit(limit)
        if collecting:
            gc.enable()
    return diagnostics


def _needs(rules: Sequence[Type["Rule"]]) -> Optional[List[screen.Needs]]:
    """The rules' declarations for the screen; None when one declares none (then every file that
    reaches the rules is parsed whole: a rule the screen does not know is never starved)."""
    needs = [rule.needs for rule in rules]
    return None if any(need is None for need in needs) else needs  # type: ignore[return-value]


def screen_needs(settings: Settings) -> Optional[List[screen.Needs]]:
    """The screen declarations of every rule a run selects (None: no screen)."""
    return _needs(selected_rules(settings))


def _file_errors(diagnostics: Sequence[Diagnostic]) -> bool:
    return any(d.code in FILE_ERROR_CODES for d in diagnostics)


def _screened(cst, source: str, path: str, settings: Settings, rules, plan: Optional[screen.Plan]) -> List[Diagnostic]:
    """Check what the screen kept; when that text does not parse (a cut the screen got wrong, or
    a syntax error in kept code), check the whole file, so that libcst reports the error where it is."""
    if plan is not None and plan.partial:
        checked = _parse_and_check(cst, plan.text(), source, path, settings, rules, plan.longest_statement())
        if not checked.failed:
            return checked.diagnostics()
    longest = plan.longest_statement(everything=True) if plan is not None else None
    return _parse_and_check(cst, source, source, path, settings, rules, longest).diagnostics()


class _Checked:
    """One parse and rule run: the file errors, and the findings made diagnostics on demand."""

    def __init__(self, path: str, source: str, errors: List[Diagnostic], facts=None, found=(), shifts=None) -> None:
        self.path, self.source, self.errors, self.facts, self.found = path, source, errors, facts, found
        self.failed = any(d.code in (SYNTAX_ERROR[0], INTERNAL_ERROR[0]) for d in errors)
        self.shifts: Dict[int, int] = shifts or {}  # rows whose margin lost form feeds to parse

    def diagnostics(self) -> List[Diagnostic]:
        from initlint import suppression

        diagnostics = list(self.errors)
        diagnostics.extend(self._placed(_diagnostic(rule, finding, self.facts, self.path)) for rule, finding in self.found)
        if diagnostics:
            rows = suppression.parse(self.source)
            diagnostics = [d for d in diagnostics if d.code == INTERNAL_ERROR[0] or not suppression.is_suppressed(rows, d.location.row, d.code)]
        return sorted(set(diagnostics), key=Diagnostic.sort_key)

    def _placed(self, diagnostic: Diagnostic) -> Diagnostic:
        """A finding of a text parsed without its margins' form feeds: columns put back where the
        file has them, and no fix (its offsets are into the text without them)."""
        if not self.shifts:
            return diagnostic
        start, end = diagnostic.location, diagnostic.end_location
        message = diagnostic.message
        if diagnostic.fix is not None:
            message = f"{message} (no fix: a form feed in this file's indentation; remove it to get one)"
        return dataclasses.replace(
            diagnostic,
            message=message,
            fix=None,
            location=Location(start.row, start.column + self.shifts.get(start.row, 0)),
            end_location=Location(end.row, end.column + self.shifts.get(end.row, 0)),
        )


def _parse_and_check(cst, text: str, source: str, path: str, settings: Settings, rules, longest: Optional[int] = None) -> _Checked:
    """Parse `text` (the source, or the screen's part of it: same lines and columns) and run the
    rules. `longest`: `textscan.longest_statement` of `text`, when the screen has measured it."""

    def failure(code, message: str, line: int = 1, column: int = 1) -> _Checked:
        return _Checked(path, source, [file_error(code, path, message, line, column)])

    refusal = _too_deep(text, longest)
    if refusal is not None:
        return failure(SYNTAX_ERROR, f"cannot parse: {refusal}")
    from initlint.parsing import parse_module

    shifts: Dict[int, int] = {}
    try:
        module = parse_module(text)
    except cst.ParserSyntaxError as error:
        # CPython says where and what in words users know ("unexpected indent" at the column);
        # libcst's own position is the fallback (a file only libcst refuses).
        where = _cpython_error(text)
        if where is not None:
            return failure(SYNTAX_ERROR, f"cannot parse: {where[0]}", where[1], where[2])
        module, shifts = _parse_levelled(parse_module, text)
        if module is None:
            return failure(SYNTAX_ERROR, f"cannot parse: {error.message}", error.raw_line, error.raw_column + 1)
    except RecursionError:
        return failure(SYNTAX_ERROR, "cannot parse: the code is nested too deeply")
    except Exception as error:  # noqa: BLE001 - the native parser can raise others on odd input
        return failure(SYNTAX_ERROR, f"cannot parse: {type(error).__name__}: {error}")
    try:
        facts = _collect(module, settings, source, path, None if shifts else text)
        if text is source:
            facts.shared["whole"] = facts  # (rules that read past the screen need no second parse)
    except RecursionError:
        return failure(SYNTAX_ERROR, "cannot analyse: the code is nested too deeply")
    except Exception as error:  # noqa: BLE001 - a bug of ours, reported for this file only
        return failure(INTERNAL_ERROR, f"internal error while analysing: {type(error).__name__}: {error}")
    errors: List[Diagnostic] = []
    found = []
    for rule in rules:
        try:
            found.extend((rule, finding) for finding in rule().check(facts))
        except Exception as error:  # noqa: BLE001 - one rule's bug must not take the run down
            errors.append(file_error(INTERNAL_ERROR, path, f"internal error in {rule.code} ({rule.name}): {type(error).__name__}: {error}"))
    return _Checked(path, source, errors, facts, found, shifts)


_ROWS = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _parse_levelled(parse_module, text: str):
    """(module, {row: characters removed}) of `text` with the form feeds of its indentation taken
    out, or (None, {}) when that does not parse either.

    CPython resets the indentation's column at a form feed (`\\f` in the margin, as old editors
    left between sections); libcst's tokenizer rejects one that opens a nested block. Dropping
    the margin up to its last form feed gives each line the indentation CPython sees."""
    if "\f" not in text:
        return None, {}
    lines = _ROWS.findall(text)  # (not splitlines: a form feed ends a line there, not for Python)
    shifts: Dict[int, int] = {}
    for row, line in enumerate(lines, 1):
        margin = len(line) - len(line.lstrip(" \t\f"))
        cut = line.rfind("\f", 0, margin) + 1
        if cut:
            lines[row - 1] = line[cut:]
            shifts[row] = cut
    try:
        return parse_module("".join(lines)), shifts
    except Exception:  # noqa: BLE001 - the original error is the one to report
        return None, {}


def _collect(module, settings: Settings, source: str, path: str, parsed: Optional[str]):
    """`facts.collect` of a parsed module (the whole file, or the screen's part of it: `parsed`,
    None when it is neither, as when form feeds were taken out)."""
    from initlint.facts import collect

    return collect(module, settings.extend_init_modules, source, _project_path(path, settings), settings.lint_tests, parsed)


# Legal code that CPython accepts can still be too deep for libcst's native parser: chains of
# thousands of `and` terms overflow its stack (the process dies with SIGSEGV), and its time grows
# about as the cube of a chain's length (`a.f(x).f(x)...` 2,000 calls: 14 s; 4,000 `+`: over 60 s).
_MAX_DEPTH = 2_000


def _depth(tree: ast.AST) -> int:
    """The deepest nesting in `tree`, each term of a flat `and`/`or` or comparison chain counted
    as a level, as libcst nests them; iterative, so any depth is safe to measure."""
    import ast

    deepest = 0
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.BoolOp):
            depth += len(node.values)
        elif isinstance(node, ast.Compare):
            depth += len(node.comparators)
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _may_nest(source: str, longest: Optional[int] = None) -> bool:
    """Whether some statement is long enough to nest past _MAX_DEPTH (`textscan.longest_statement`,
    or `longest` when the screen has measured it): walking the tree costs as much as parsing it,
    and real code almost never needs the walk."""
    from initlint import textscan

    if longest is None:
        try:
            longest = textscan.longest_statement(textscan.code_only(source), source)
        except textscan.Unsure:
            return True
    return longest > _MAX_DEPTH // 2


def _too_deep(source: str, longest: Optional[int] = None) -> Optional[str]:
    """Why libcst must not parse this text for its nesting, else None.

    libcst's native parser crashes the whole process (a stack overflow) on nesting that CPython
    rejects cleanly (thousands of parentheses or unary operators), and slows down as the cube of
    a chain's length. When no statement is long enough to nest past _MAX_DEPTH // 2 levels (the
    bound of `_may_nest`, five times cheaper to compute than CPython's parse), libcst is safe on it
    (tests/test_adversarial.py); otherwise CPython's parser, ten times faster, looks first. Other
    syntax errors are left for libcst to report.
    """
    if len(source) <= MAX_SOURCE_CHARS and not _may_nest(source, longest):
        return None
    return _cpython_verdict(source, may_nest=True)[0]


def _cpython_verdict(source: str, may_nest: Optional[bool] = None) -> Tuple[Optional[str], bool]:
    """(why the file must not reach libcst, or None; whether CPython parses it at all).
    `may_nest`: `_may_nest(source)` when the caller already knows it."""
    if len(source) > MAX_SOURCE_CHARS:
        return f"the file is larger than {MAX_SOURCE_CHARS // 1_000_000} million characters", False
    from initlint.parsing import cpython_tree  # (only here: a run that reports nothing never needs it)

    try:
        tree = cpython_tree(source)
        if len(source) > _MAX_DEPTH and (_may_nest(source) if may_nest is None else may_nest) and _depth(tree) > _MAX_DEPTH:
            return f"the code is nested too deeply (more than {_MAX_DEPTH} levels)", True
    except (RecursionError, MemoryError):
        return "the code is nested too deeply", False
    except SyntaxError as error:
        if "too many nested" in str(error) or "too complex" in str(error):
            return str(error.msg), False
        return None, False
    except (ValueError, OverflowError):
        return None, False  # null bytes and friends: libcst reports them
    return None, True


def _cpython_error(text: str) -> Optional[Tuple[str, int, int]]:
    """(message, line, column) of CPython's syntax error in `text`, or None when it parses."""
    from initlint.parsing import cpython_tree

    try:
        cpython_tree(text)
    except SyntaxError as error:
        if error.lineno is None:
            return None
        return error.msg, error.lineno, max(1, error.offset or 1)
    except (ValueError, RecursionError, MemoryError, OverflowError):
        return None
    return None


def _diagnostic(rule: Type[Rule], finding, facts, path: str) -> Diagnostic:
    where = facts.range_of(finding.node)
    message = finding.message
    if finding.no_fix_reason:
        message = f"{message} (no fix: {finding.no_fix_reason})"
    return Diagnostic(
        code=rule.code,
        name=rule.name,
        message=message,
        path=path,
        location=Location(where.start.line, where.start.column + 1),
        end_location=Location(where.end.line, where.end.column + 1),
        severity=rule.severity,
        fix_title=rule.fix_title,
        fix=finding.fix,
        url=rule.url(),
    )


def lint_file(path: str, settings: Settings) -> FileResult:
    """Read and lint one file (or take its result from the cache); every problem becomes a
    diagnostic, never an exception."""
    try:
        data = read_bytes(path)
        if path.endswith(".ipynb"):  # JSON, not Python: its code cells are linted as one module
            from initlint.notebook import lint_notebook

            return lint_notebook(path, data, settings)
        source = decode(data)
    except ReadError as error:
        return FileResult(path, (file_error(IO_ERROR, path, f"cannot read: {error}"),))
    needs = screen_needs(settings) if SCREEN else None
    if needs is not None and not screen.may_match(source, needs):
        return FileResult(path, ())  # nothing to check: cheaper than a cache lookup
    store = None
    if not settings.no_cache:
        from initlint import cache  # (hashlib and json: not for --no-cache)

        store = cache.for_settings(settings)
    key = None
    if store is not None:
        key = store.key(data, os.path.splitext(path)[1], applied_codes(path, settings) + _path_facts(path, settings))
        cached = store.get(key, path)
        if cached is not None:
            return FileResult(path, cached, source if cached else None)
    try:
        diagnostics = tuple(lint_source(source, path, settings, matched=needs is not None))
    except Exception as error:  # noqa: BLE001 - last line of defence: report, go on
        diagnostics = (file_error(INTERNAL_ERROR, path, f"internal error: {type(error).__name__}: {error}"),)
    if key is not None and not any(d.code == INTERNAL_ERROR[0] for d in diagnostics):
        store.put(key, diagnostics)  # a bug of ours is not remembered: the next run tries again
    warning = store.take_warning() if store is not None else None
    return FileResult(path, diagnostics, source if diagnostics else None, (warning,) if warning else ())


def _path_facts(path: str, settings: Settings) -> Tuple[str, ...]:
    """What of a file's path (not its text) the rules' findings depend on, for its cache key: two
    identical files, one of them test code (which the model rules leave alone), differ."""
    from initlint.paths import is_test_path

    return ("~test-code",) if not settings.lint_tests and is_test_path(_project_path(path, settings)) else ()


def _project_path(path: str, settings: Settings) -> str:
    """The path inside the project (from its root): where the project itself lives (a folder
    named `test` above it, say) says nothing about the file."""
    from initlint.config import relative

    return relative(path, settings.root)


def _lint_many(args: Tuple[Sequence[str], Settings]) -> List[FileResult]:
    paths, settings = args
    return [lint_file(path, settings) for path in paths]


def cpu_count() -> int:
    """The cores this process may run on (its affinity mask, in a container its share)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_count(requested: int, files: int) -> int:
    """Worker processes for `files` files: `requested` (0: one a core), never more than the cores
    nor than the files (`jobs = 500` in a config must not fork 500 processes)."""
    cores = cpu_count()
    return max(1, min(requested or cores, cores, files))


def lint_paths(paths: Sequence[str], settings: Settings) -> List[FileResult]:
    """Lint files, in parallel across cores when it pays; results in the order of `paths`.

    When worker processes cannot be had (no fork left, no /dev/shm, a worker killed), the files
    are linted here instead. An interrupt (SIGINT, or SIGTERM turned into an exception by the
    command line) ends every worker before it goes on up."""
    jobs = worker_count(settings.jobs, len(paths))
    if jobs <= 1 or len(paths) < _PARALLEL_THRESHOLD:
        return [lint_file(path, settings) for path in paths]
    # Contiguous chunks, several per worker, so that the parent re-assembles them in order.
    size = max(1, min(64, len(paths) // (jobs * 4) or 1))
    chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
    from initlint import workers  # (multiprocessing: a one-file run never needs it)

    try:
        done = workers.map_ordered(_lint_many, [(chunk, settings) for chunk in chunks], jobs)
    except workers.NoWorkers:
        return [lint_file(path, settings) for path in paths]
    return [result for chunk in done for result in chunk]
