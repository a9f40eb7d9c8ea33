"""One `initlint check` run over paths, or over standard input: files -> each file's settings ->
engine -> fixes -> runtime confirmation -> diagnostics. No printing: the CLI reports the outcome."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from initlint.config import Resolver, Settings
from initlint.diagnostic import INTERNAL_ERROR, IO_ERROR, Diagnostic, file_error


@dataclass
class Outcome:
    """What a run found and did."""

    diagnostics: List[Diagnostic]
    sources: Dict[str, str]  # path -> text (a notebook's JSON text) for the reporters
    fixed: int = 0
    diffs: List[str] = field(default_factory=list)
    fixed_codes: Dict[str, Counter] = field(default_factory=dict)  # path -> code -> how many fixed
    settings: Dict[str, Settings] = field(default_factory=dict)  # path -> the settings it was linted with
    warnings: List[str] = field(default_factory=list)  # problems of the run (the cache), each once

    @property
    def broken(self) -> bool:
        """An internal error (a bug of ours): exit 2."""
        return any(d.code == INTERNAL_ERROR[0] for d in self.diagnostics)


def lint(paths: Sequence[str], resolver: Resolver) -> Tuple[list, Outcome]:
    """Discover and lint `paths`, each file with its own folder's settings: (results, outcome)."""
    import os

    from initlint.engine import lint_paths
    from initlint.files import discover

    found = discover(paths, resolver.globals, resolver.for_dir)
    groups: Dict[Settings, List[str]] = {}
    settings: Dict[str, Settings] = {}
    for path in found.files:
        settings[path] = own = resolver.for_dir(os.path.dirname(os.path.abspath(path)))
        groups.setdefault(own, []).append(path)
    results = []
    for own, files in groups.items():  # nearly always one group: one configuration per project
        results.extend(lint_paths(files, own))
    results.sort(key=lambda result: result.path)
    diagnostics: List[Diagnostic] = [file_error(IO_ERROR, path, f"cannot read: {why}") for path, why in found.errors]
    sources: Dict[str, str] = {}
    warnings: Dict[str, None] = {}
    for result in results:
        diagnostics.extend(result.diagnostics)
        if result.source is not None:
            sources[result.path] = result.source
        warnings.update(dict.fromkeys(result.warnings))  # (each worker process says it once: once here)
    return results, Outcome(diagnostics, sources, settings=settings, warnings=list(warnings))


def run(paths: Sequence[str], resolver: Resolver, *, fix: bool = False, diff: bool = False, unsafe: bool = False) -> Outcome:
    """Lint, then (with `fix` or `diff`) fix: the diagnostics left, sorted."""
    results, outcome = lint(paths, resolver)
    if fix or diff:
        _fix(results, outcome, unsafe, write=not diff)
    outcome.diagnostics.sort(key=Diagnostic.sort_key)
    return outcome


def _fix(results, outcome: Outcome, unsafe: bool, write: bool) -> None:
    """Apply (or, without `write`, only compute) the fixes, file by file."""
    from initlint import fix as fixing
    from initlint.engine import lint_source

    for result in results:
        if not fixing.has_fixes(result.diagnostics, unsafe):
            continue
        settings = outcome.settings[result.path]
        lint_text = functools.partial(lint_source, path=result.path, settings=settings)
        try:
            if result.path.endswith(".ipynb"):  # only the changed cells' sources are rewritten
                from initlint import notebook

                done = notebook.fix_file(result.path, settings, unsafe=unsafe, write=write)
            else:
                done = fixing.fix_file(
                    result.path, lint_text, unsafe=unsafe, write=write, diagnostics=result.diagnostics, linted=result.source
                )
        except fixing.FixError as error:
            outcome.diagnostics.append(file_error(IO_ERROR, result.path, f"cannot fix: {error}"))
            continue
        outcome.diagnostics = [d for d in outcome.diagnostics if d.path != result.path]
        outcome.diagnostics.extend(done.diagnostics)
        outcome.diagnostics.extend(file_error(INTERNAL_ERROR, result.path, why) for why in done.errors)
        outcome.sources[result.path] = done.after
        outcome.fixed += done.fixed
        if done.fixed:
            # Which codes were fixed: the fixable findings that are gone.
            before = Counter(d.code for d in result.diagnostics if fixing.wanted(d.fix, unsafe))
            outcome.fixed_codes[result.path] = before - Counter(d.code for d in done.diagnostics)
        if done.changed:
            outcome.diffs.append(fixing.unified_diff(result.path, done.before, done.after))


@dataclass
class StdinOutcome:
    """A run over standard input: the diagnostics, and the fixed text with --fix / --diff."""

    diagnostics: List[Diagnostic]
    text: str
    fixed_text: Optional[str] = None
    fixed: int = 0
    excluded: bool = False


def stdin(data: bytes, path: str, settings: Settings, *, fix: bool = False, unsafe: bool = False, named: bool = False) -> StdinOutcome:
    """Lint (and with `fix`, fix) text read from standard input, as the file `path`.

    `named`: the user gave `--stdin-filename`, whose configuration, per-file-ignores and
    force-exclude then apply."""
    from initlint.engine import ReadError, decode, lint_source

    if named and settings.force_exclude and _force_excluded(path, settings):
        text = data.decode("utf-8", "surrogateescape")
        return StdinOutcome([], text, text if fix else None, excluded=True)
    if path.endswith(".ipynb"):
        return _stdin_notebook(data, path, settings, fix, unsafe)
    try:
        text = decode(data)
    except ReadError as error:
        return StdinOutcome([file_error(IO_ERROR, path, f"cannot read: {error}")], "")
    lint_text = functools.partial(lint_source, path=path, settings=settings)
    diagnostics = sorted(lint_text(text), key=Diagnostic.sort_key)
    if not fix:
        return StdinOutcome(diagnostics, text)
    from initlint import fix as fixing

    done = fixing.fix_source(text, lint_text, unsafe=unsafe, diagnostics=diagnostics)
    left = list(done.diagnostics) + [file_error(INTERNAL_ERROR, path, why) for why in done.errors]
    return StdinOutcome(sorted(left, key=Diagnostic.sort_key), text, done.text, done.fixed)


def _stdin_notebook(data: bytes, path: str, settings: Settings, fix: bool, unsafe: bool) -> StdinOutcome:
    from initlint import notebook
    from initlint.engine import lint_source

    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return StdinOutcome([file_error(IO_ERROR, path, f"cannot read notebook: not valid UTF-8: {error}")], "")
    diagnostics = notebook.lint_notebook_text(text, path, settings)
    if not fix or any(d.code == IO_ERROR[0] for d in diagnostics):
        return StdinOutcome(diagnostics, text, text if fix else None)
    parsed = notebook.parse(text)
    lint_text = functools.partial(lint_source, path=path, settings=settings)
    fixed_nb, fixed, left, errors = notebook.fix_notebook(parsed, lint_text, unsafe=unsafe)
    changed = {c.index: c.source for c, old in zip(fixed_nb.cells, parsed.cells) if c.source != old.source}
    left = list(left) + [file_error(INTERNAL_ERROR, path, why) for why in errors]
    return StdinOutcome(sorted(left, key=Diagnostic.sort_key), text, notebook.write_sources(text, changed), fixed)


def _force_excluded(path: str, settings: Settings) -> bool:
    from initlint.files import _excluded_with_parents

    return _excluded_with_parents(path, settings)
