"""`initlint PATHS --runtime`: confirm or refute each static finding by building its module the way the file does.

For each file with findings, `recipes` plans the ways of building the module each finding is
about (module-level instances, factories, literal call sites, the branch of `__init__` that
reaches the site, test functions, the main block); one worker per file runs them in order with
the flagged lines watched, and `claims` judges each finding on the first module whose building
ran its site. A finding comes back with one note: `runtime: confirmed — ...`, `runtime: refuted
— ...` (what broke the tie), `runtime: could not reach the site — ...` (what was tried, and the
command to try), or `runtime: could not measure — ...` (the site ran but the probe could not).

A worker that crashes or hangs loses only the recipe it was running: the rest run in a new worker.
"""

from __future__ import annotations

import ast
import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Sequence, Tuple

from initlint.diagnostic import Diagnostic
from initlint.runtime import INSTALL_HINT, isolate, torch_available
from initlint.runtime.claims import CLAIMS, WORDS, Verdict, judge, verdict_of
from initlint.runtime.progress import Progress
from initlint.runtime.recipes import FileIndex, Planner, Recipe, SitePlan
from initlint.runtime.results import Report
from initlint.runtime.settings import RuntimeSettings
from initlint.runtime.spec import Target

__all__ = ["confirm", "CLAIMS", "verdict_of"]


@dataclasses.dataclass
class _FileJob:
    """The sites of one file and the recipes that may reach them."""

    path: str
    diagnostics: List[Diagnostic]
    plans: List[SitePlan]
    lines: List[str]
    recipes: List[Recipe] = dataclasses.field(default_factory=list)
    sites_of: Dict[Recipe, List[str]] = dataclasses.field(default_factory=dict)
    outcomes: Dict[str, Dict[str, Any]] = dataclasses.field(default_factory=dict)
    import_error: Optional[str] = None

    @property
    def label(self) -> str:
        shown = os.path.relpath(self.path)
        return f"{self.path if shown.startswith('..') else shown} ({len(self.diagnostics)} finding(s))"

    def ident(self, recipe: Recipe) -> str:
        return f"r{self.recipes.index(recipe)}"


def confirm(
    diagnostics: Sequence[Diagnostic], *, timeout: float = 60.0, device: str = "cpu", steps: int = 3,
    jobs: Optional[int] = None, settings: Optional[RuntimeSettings] = None, progress: bool = False,
) -> List[Diagnostic]:
    """The diagnostics, in order, each static finding with a `runtime: ...` note added.

    settings: `[tool.initlint.runtime.targets]` (arguments and inputs per class); progress: a line
    per file on stderr as it starts and ends (a live status on a terminal).
    """
    wanted = [d for d in diagnostics if d.code in CLAIMS]
    if not wanted:
        return list(diagnostics)
    if not torch_available():
        return [_noted(d, Verdict("unmeasured", INSTALL_HINT)) if d.code in CLAIMS else d for d in diagnostics]
    verdicts: Dict[int, Verdict] = {}
    files: Dict[str, List[Diagnostic]] = {}
    for d in wanted:
        if d.cell is not None:
            verdicts[id(d)] = Verdict("unreached", "notebook cells are not run by the runtime confirmation")
        else:
            files.setdefault(os.path.abspath(d.path), []).append(d)
    work = []
    for path, found in files.items():
        job = _plan(path, found, settings or RuntimeSettings())
        if isinstance(job, str):
            verdicts.update((id(d), Verdict("unreached", job)) for d in found)
        else:
            work.append(job)
    workers = isolate.worker_count(jobs, len(work), device)
    options = {"device": device, "steps": steps, "seed": 0, "threads": isolate.threads_per_worker(workers)}
    shown = Progress(enabled=progress, describe=describe_file, total=len(work))

    def one(job: _FileJob) -> None:
        shown.start(job.label)
        _run(job, options, timeout)
        for number, (d, plan, line) in enumerate(zip(job.diagnostics, job.plans, job.lines)):
            verdicts[id(d)] = _verdict(job, f"s{number}", d, plan, line)
        shown.end(job.label, [verdicts[id(d)] for d in job.diagnostics])

    with shown:
        if workers <= 1 or len(work) <= 1:
            for job in work:
                one(job)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(one, work))
    return [_noted(d, verdicts[id(d)]) if id(d) in verdicts else d for d in diagnostics]


def describe_file(label: str, verdicts: Sequence[Verdict], seconds: float) -> str:
    """The progress line of one file: `model.py (3 finding(s)): 2 confirmed, 1 refuted (4.2 s)`."""
    counts: Dict[str, int] = {}
    for v in verdicts:
        counts[WORDS[v.kind]] = counts.get(WORDS[v.kind], 0) + 1
    return f"{label}: {', '.join(f'{n} {word}' for word, n in counts.items())} ({seconds:.1f} s)"


def _noted(diagnostic: Diagnostic, verdict: Verdict) -> Diagnostic:
    return dataclasses.replace(diagnostic, notes=diagnostic.notes + (verdict.note,))


def _plan(path: str, found: List[Diagnostic], settings: RuntimeSettings) -> Any:
    """The file's job, or why none can run."""
    try:
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
        tree = ast.parse(source, filename=path)
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError, RecursionError) as error:
        return f"cannot read or parse {path}: {error}"
    lines = source.splitlines()
    planner = Planner(FileIndex(path, tree), settings)
    plans = [planner.plan(d.location.row, CLAIMS[d.code].watch_construction) for d in found]
    job = _FileJob(path, found, plans, [lines[d.location.row - 1] if 0 < d.location.row <= len(lines) else "" for d in found])
    for number, plan in enumerate(plans):
        for recipe in plan.recipes:
            if recipe not in job.sites_of:
                job.recipes.append(recipe)
                job.sites_of[recipe] = []
            job.sites_of[recipe].append(f"s{number}")
    return job


def _run(job: _FileJob, options: Dict[str, Any], timeout: float) -> None:
    """Run the job's recipes in a worker; after a crash or a hang, the ones left in a new worker."""
    if not job.recipes:
        return
    request: Dict[str, Any] = dict(
        options, mode="recipes", target=Target(path=job.path).to_dict(),
        sites={f"s{i}": list(plan.rows) for i, plan in enumerate(job.plans)},
        needs_probe={f"s{i}": CLAIMS[d.code].needs_probe for i, d in enumerate(job.diagnostics)},
    )
    remaining = [r.request(job.ident(r), job.sites_of[r]) for r in job.recipes]
    while remaining:
        satisfied = sorted({s for o in job.outcomes.values() for s in o.get("measured", ())})
        result = isolate.run(job.label, dict(request, recipes=remaining, satisfied=satisfied), timeout)
        data = result.data or {}
        job.outcomes.update(data.get("recipes") or {})
        job.import_error = data.get("import_error") or job.import_error
        if result.status == "ok":
            return
        left = [r for r in remaining if r["id"] not in job.outcomes]
        if not left:
            return
        current = data.get("current")
        if current is None or result.phase in isolate.PREAMBLE + ("importing",):
            for r in left:  # the worker failed before or between recipes: every one left fails alike
                job.outcomes[r["id"]] = {"status": "error", "error": result.error or "the worker failed"}
            return
        job.outcomes[current] = {"status": "error", "error": result.error or "the worker failed", "hits": {}}
        remaining = [r for r in left if r["id"] != current]


def _built(recipe: Recipe, outcome: Dict[str, Any]) -> str:
    """How the probed module was built, for the verdict."""
    if recipe.kind == "instance":
        return f"module-level {outcome.get('instance') or recipe.candidates[0]}, as the file left it"
    if recipe.kind == "run":
        which = outcome.get("instance") or outcome.get("model") or "the model"
        return f"{recipe.label} ({which} as it stood at its first forward call)"
    return recipe.label


def _verdict(job: _FileJob, site: str, diagnostic: Diagnostic, plan: SitePlan, line: str) -> Verdict:
    """The verdict on one finding (site `site` of the job): from the first recipe that ran its site and could be measured."""
    claim = CLAIMS[diagnostic.code]
    where = f"line {plan.rows[0]}" if len(plan.rows) == 1 else f"lines {plan.rows[0]}-{plan.rows[-1]}"
    tried: List[str] = []
    unmeasured: Optional[Tuple[str, str]] = None
    for recipe in plan.recipes:
        outcome = job.outcomes.get(job.ident(recipe))
        if outcome is None or outcome.get("status") == "skipped":
            continue
        if outcome.get("status") != "ok":
            ran = " after running the site" if (outcome.get("ran") or {}).get(site) else ""
            tried.append(f"{recipe.label}{ran}: {outcome.get('error')}")
            continue
        if not (outcome.get("hits") or {}).get(site):
            raised = f" (then: {outcome['raised']})" if outcome.get("raised") else ""
            other = " for another module" if (outcome.get("ran") or {}).get(site) else ""
            tried.append(f"{_built(recipe, outcome)}: {where} did not run{other}{raised}")
            continue
        if claim.needs_probe and outcome.get("probe_error"):
            unmeasured = unmeasured or (_built(recipe, outcome), outcome["probe_error"])
            continue
        return judge(diagnostic, line, Report.from_dict(outcome["report"]), _built(recipe, outcome))
    suggestion = plan.suggestion
    if unmeasured is not None:
        built, error = unmeasured
        if "input shape" in error and suggestion.startswith("initlint runtime"):
            suggestion += " --input-shape SHAPE"
        return Verdict("unmeasured", f"{built} ran {where}, but the probe could not run: {error}; try: {suggestion}")
    if not plan.recipes:
        return Verdict("unreached", f"{plan.reason or 'no way of building it was found'}; try: {suggestion}")
    if job.import_error and not tried:
        tried.append(f"importing the file: {job.import_error}")
    shown = "; ".join(tried[:3]) + (f"; and {len(tried) - 3} more" if len(tried) > 3 else "")
    return Verdict("unreached", f"tried {len(tried)} way(s) of reaching it in {plan.scope}: {shown}; try: {suggestion}")
