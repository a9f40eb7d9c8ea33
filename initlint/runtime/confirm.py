"""`initlint PATHS --runtime`: confirm or clear each static finding by probing the module it is about.

For a static diagnostic (IL001-IL005) the module to build is found with ast:

* inside a class (its methods included): that class, built with no arguments;
* in a module-level statement (seed 001's `net = MNISTNet(); net.fc1.weight.data = ...`): the
  file is run in the worker and the first module-level name of that statement that holds an
  nn.Module instance is probed (names on the flagged line first);
* anywhere else (a plain function): not run, and the note says why.

Each distinct module runs once, in its own worker (see `isolate`). The diagnostic comes back with
a note: `runtime: confirmed — <evidence>`, `runtime: not confirmed — <what was measured>`, or
`runtime: could not run — <why>`.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

from initlint.diagnostic import Diagnostic
from initlint.runtime import INSTALL_HINT, isolate, torch_available
from initlint.runtime.isolate import Result
from initlint.runtime.results import Report
from initlint.runtime.spec import Target, parse_file

# Static code -> the runtime codes that confirm it.
CONFIRMED_BY = {
    "IL001": ("IL101", "IL102"),  # constant weight: identical units (or, for zero, dead ones)
    "IL002": ("IL102", "IL101"),  # zeroed layer before a ReLU: dead
    "IL003": ("IL101", "IL102"),  # constant init loop
    "IL004": ("IL103",),  # init before layers: touched nothing
    "IL005": ("IL101",),  # repeated rows: identical units
}
_CHAIN = re.compile(r"\b[A-Za-z_]\w*((?:\.[A-Za-z_]\w*)+)")


def confirm(diagnostics: Sequence[Diagnostic], *, timeout: float = 60.0, device: str = "cpu", steps: int = 3, jobs: Optional[int] = None) -> List[Diagnostic]:
    """The diagnostics, in order, each static finding with a `runtime: ...` note added."""
    wanted = [d for d in diagnostics if d.code in CONFIRMED_BY]
    if not wanted:
        return list(diagnostics)
    if not torch_available():
        return [_noted(d, f"runtime: could not run — {INSTALL_HINT}") if d.code in CONFIRMED_BY else d for d in diagnostics]
    sites: Dict[int, Union[Target, str]] = {id(d): locate(d) for d in wanted}
    targets = list(dict.fromkeys(t for t in sites.values() if isinstance(t, Target)))
    workers = jobs or isolate.default_workers(len(targets), device)
    options = {"kwargs": {}, "device": device, "steps": steps, "threads": isolate.threads_per_worker(workers)}
    jobs_ = [(t.label, dict(options, mode="probe", target=t.to_dict())) for t in targets]
    results = dict(zip(targets, isolate.run_many(jobs_, timeout, workers)))
    out = []
    for d in diagnostics:
        site = sites.get(id(d))
        if site is None:
            out.append(d)
        elif isinstance(site, str):
            out.append(_noted(d, f"runtime: could not run — {site}"))
        else:
            out.append(_noted(d, verdict(d, results[site])))
    return out


def _noted(diagnostic: Diagnostic, note: str) -> Diagnostic:
    return dataclasses.replace(diagnostic, notes=diagnostic.notes + (note,))


def locate(diagnostic: Diagnostic) -> Union[Target, str]:
    """The module a static diagnostic is about, or why there is none to run."""
    if diagnostic.cell is not None:
        return "notebook cells are not run by the runtime confirmation"
    tree = parse_file(diagnostic.path)
    if tree is None:
        return f"cannot parse {diagnostic.path}"
    row = diagnostic.location.row
    chain = _enclosing(tree.body, row)
    classes = [node for node in chain if isinstance(node, ast.ClassDef)]
    if classes:
        if any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in chain[: chain.index(classes[-1])]):
            return f"class {classes[-1].name} is defined inside a function"
        return Target(path=os.path.abspath(diagnostic.path), name=".".join(c.name for c in classes))
    if chain and isinstance(chain[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return f"the site is in function {chain[0].name}(), not in an nn.Module class or module-level code"
    statement = next((s for s in tree.body if s.lineno <= row <= (s.end_lineno or s.lineno)), None)
    if statement is None:
        return "no statement at this line"
    candidates = _module_names(tree, statement, row)
    if not candidates:
        return "no module-level variable in this statement could hold the model"
    return Target(path=os.path.abspath(diagnostic.path), candidates=tuple(candidates))


def _enclosing(body: List[ast.stmt], row: int) -> List[ast.AST]:
    """The classes and functions containing `row`, outermost first."""
    for node in body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.lineno <= row <= (node.end_lineno or node.lineno):
            return [node] + _enclosing(node.body, row)
    return []


def _module_names(tree: ast.Module, statement: ast.stmt, row: int) -> List[str]:
    """Names used in `statement` that module-level code assigns (flagged line first)."""
    assigned = set()
    for node in tree.body:
        for target in _targets(node):
            assigned.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    names = [n for n in ast.walk(statement) if isinstance(n, ast.Name) and n.id in assigned]
    names.sort(key=lambda n: (n.lineno != row, n.lineno, n.col_offset))
    return list(dict.fromkeys(n.id for n in names))


def _targets(node: ast.stmt) -> List[ast.AST]:
    if isinstance(node, ast.Assign):
        return list(node.targets)
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        return [node.target]
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return [node.target]
    return []


def _related(diagnostic: Diagnostic, report: Report) -> Tuple[List[str], bool]:
    """Parameters the flagged line names (`self.fc1.weight` -> fc1.weight), and whether any were named."""
    try:
        with open(diagnostic.path, encoding="utf-8") as handle:
            line = handle.read().splitlines()[diagnostic.location.row - 1]
    except (OSError, IndexError):
        line = ""
    names = [p.name for p in report.parameters]
    chains = [m.group(1)[1:] for m in _CHAIN.finditer(line)]
    related = [n for n in names if any(c == n or c.startswith(n + ".") or n.startswith(c + ".") for c in chains)]
    return (related, True) if related else (names, False)


def verdict(diagnostic: Diagnostic, result: Result) -> str:
    """The note for one diagnostic from its module's probe."""
    if result.status != "ok" or result.report is None:
        return f"runtime: could not run — {result.error}"
    report = result.report
    codes = CONFIRMED_BY[diagnostic.code]
    if diagnostic.code == "IL004":
        hits = [f.evidence for f in report.findings if f.code in codes]
        if hits:
            return "runtime: confirmed — " + hits[0]
        if not report.init_recorded:
            return "runtime: could not run — the module was given as an instance: its construction was not watched"
        seen = "; ".join(f"{r.name} reached {r.reached} of {r.total} parameters" for r in report.init_routines)
        return "runtime: not confirmed — " + (seen or "no init routine ran during construction")
    related, named = _related(diagnostic, report)
    hits = [f for f in report.findings if f.code in codes and (f.parameter in related or not named)]
    hits = [f.evidence for f in sorted(hits, key=lambda f: codes.index(f.code))]
    if hits:
        more = f" (+{len(hits) - 3} more)" if len(hits) > 3 else ""
        return "runtime: confirmed — " + "; ".join(hits[:3]) + more
    stats = [report.stat(n) for n in related[:3]]
    seen = "; ".join(s.describe() for s in stats if s is not None) or "no parameter named on this line"
    return f"runtime: not confirmed — {seen} ({report.steps} SGD steps on {report.model})"
