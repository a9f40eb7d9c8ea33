"""The command line: a thin layer from arguments to Settings, the engine, a report and an exit code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import click

from initlint import __version__
from initlint.config import FORMATS, ConfigError, Settings, load
from initlint.diagnostic import FILE_ERROR_CODES, INTERNAL_ERROR, IO_ERROR, Diagnostic, file_error

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


# Commands whose module is imported only when they run (or when `--help` lists them): `initlint
# check` on a clean file must not pay for the runtime command's imports.
LAZY_COMMANDS = {"runtime": ("initlint.runtime.cli", "runtime_command")}


class DefaultGroup(click.Group):
    """`initlint PATH...` means `initlint check PATH...`, as `ruff PATH` once meant `ruff check`."""

    def parse_args(self, ctx: click.Context, args: List[str]) -> List[str]:
        if not args:
            args = ["check"]
        elif args[0] not in self.commands and args[0] not in LAZY_COMMANDS and args[0] not in ("--help", "-h", "--version"):
            args = ["check", *args]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> List[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> Optional[click.Command]:
        if name in LAZY_COMMANDS and name not in self.commands:
            import importlib

            module, attribute = LAZY_COMMANDS[name]
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)


def _split(values: Sequence[str]) -> Tuple[str, ...]:
    return tuple(part for value in values for part in value.split(",") if part.strip())


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="initlint", message="%(prog)s %(version)s")
def main() -> None:
    """initlint: find weight initialisations that stop PyTorch models from learning."""


@main.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (comma-separated).")
@click.option("--extend-select", multiple=True, help="Codes or prefixes to enable on top of `select`.")
@click.option("--ignore", multiple=True, help="Codes or prefixes to disable.")
@click.option("--per-file-ignores", multiple=True, metavar="PATTERN:CODES", help="Disable codes for files matching a glob.")
@click.option("--exclude", multiple=True, help="Replace the default excluded folders/files (globs).")
@click.option("--extend-exclude", multiple=True, help="Exclude these globs as well.")
@click.option("--force-exclude", is_flag=True, default=None, help="Apply excludes to files named on the command line too (pre-commit).")
@click.option("--format", "--output-format", "fmt", type=click.Choice(FORMATS), default=None, help="Output format (default: concise).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A pyproject.toml to read instead of the nearest one.")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=None, help="Worker processes (default: every core).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("-q", "--quiet", is_flag=True, help="Print diagnostics only, no summary.")
@click.option("--fix/--no-fix", default=False, help="Apply safe fixes in place; report what is left.")
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=False, help="With --fix or --diff, apply unsafe fixes too.")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff and write nothing (exit 1 if any).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache of results.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=str), default=None, help="Where to keep the cache (default: .initlint_cache in the project root).")
@click.option("--runtime", "confirm_runtime", is_flag=True, help="Then build each flagged nn.Module (needs torch) and confirm or clear the findings.")
@click.option("--runtime-timeout", type=click.FloatRange(min=1), default=60.0, show_default=True, help="Seconds per module for --runtime.")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu", show_default=True, help="Where --runtime builds the modules.")
def check(
    paths: Tuple[str, ...],
    select: Tuple[str, ...],
    extend_select: Tuple[str, ...],
    ignore: Tuple[str, ...],
    per_file_ignores: Tuple[str, ...],
    exclude: Tuple[str, ...],
    extend_exclude: Tuple[str, ...],
    force_exclude: Optional[bool],
    fmt: Optional[str],
    config_path: Optional[Path],
    jobs: Optional[int],
    exit_zero: bool,
    quiet: bool,
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    no_cache: bool,
    cache_dir: Optional[str],
    confirm_runtime: bool,
    runtime_timeout: float,
    device: str,
) -> None:
    """Lint PATHS (files and folders, recursively) for initialisation bugs."""
    if not paths:
        sys.exit(EXIT_CLEAN)  # pre-commit with no files: nothing to do, say nothing
    settings = _settings(
        config_path,
        paths,
        {
            "select": _split(select),
            "extend-select": _split(extend_select),
            "ignore": _split(ignore),
            "per-file-ignores": per_file_ignores,
            "exclude": _split(exclude),
            "extend-exclude": _split(extend_exclude),
            "force-exclude": force_exclude,
            "format": fmt,
            "jobs": jobs,
            "no-cache": no_cache,
            "cache-dir": cache_dir,
        },
    )
    from initlint.engine import lint_paths
    from initlint.files import discover

    found = discover(paths, settings)
    results = lint_paths(found.files, settings)
    diagnostics: List[Diagnostic] = [file_error(IO_ERROR, path, f"cannot read: {why}") for path, why in found.errors]
    sources = {}
    for result in results:
        diagnostics.extend(result.diagnostics)
        if result.source is not None:
            sources[result.path] = result.source
    if fix or diff:
        diagnostics, sources, fixed, diffs = _fix(results, diagnostics, sources, settings, unsafe_fixes, write=not diff)
        if diff:
            _report_diff(diagnostics, diffs, fixed, quiet)
            broken = any(d.code == INTERNAL_ERROR[0] for d in diagnostics)
            sys.exit(EXIT_ERROR if broken else EXIT_FINDINGS if diffs else EXIT_CLEAN)
    else:
        fixed = 0
    if confirm_runtime:
        diagnostics = _confirm(diagnostics, runtime_timeout, device)
    diagnostics.sort(key=Diagnostic.sort_key)
    _report(diagnostics, settings, sources, quiet, fixed)
    sys.exit(exit_code(diagnostics, exit_zero))


def run() -> None:
    """The console script (and `python -m initlint`): `main` in a process of its own."""
    _tune_gc()
    main()


def _tune_gc() -> None:
    """For a process that is one run of the command (not a caller's, nor a test's): a lint run
    allocates many objects that live to its end (importing libcst alone makes ~100k; then its
    trees) and few cycles: CPython's default of a collection every 700 allocations re-scans them
    again and again (a tenth of a one-file run). Collect less often, and leave what start-up made
    out of the scans. Costs ~20 MiB at the peak of a corpus run."""
    import gc

    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def _fix(results, diagnostics: List[Diagnostic], sources: dict, settings: Settings, unsafe: bool, write: bool):
    """Apply (or, without `write`, only compute) the fixes: (remaining diagnostics, sources, fixed count, diffs)."""
    import functools

    from initlint import fix as fixing
    from initlint.engine import lint_source

    fixed, diffs = 0, []
    for result in results:
        if not fixing.has_fixes(result.diagnostics, unsafe):
            continue
        lint = functools.partial(lint_source, path=result.path, settings=settings)
        try:
            if result.path.endswith(".ipynb"):  # only the changed cells' sources are rewritten
                from initlint import notebook

                outcome = notebook.fix_file(result.path, settings, unsafe=unsafe, write=write)
            else:
                outcome = fixing.fix_file(
                    result.path, lint, unsafe=unsafe, write=write, diagnostics=result.diagnostics, linted=result.source
                )
        except fixing.FixError as error:
            diagnostics.append(file_error(IO_ERROR, result.path, f"cannot fix: {error}"))
            continue
        diagnostics = [d for d in diagnostics if d.path != result.path]
        diagnostics.extend(outcome.diagnostics)
        diagnostics.extend(file_error(INTERNAL_ERROR, result.path, why) for why in outcome.errors)
        sources[result.path] = outcome.after
        fixed += outcome.fixed
        if outcome.changed:
            diffs.append(fixing.unified_diff(result.path, outcome.before, outcome.after))
    return diagnostics, sources, fixed, diffs


def _report_diff(diagnostics: Sequence[Diagnostic], diffs: Sequence[str], fixed: int, quiet: bool) -> None:
    """`--diff`: the diffs on stdout, file errors and a count on stderr (ruff's convention)."""
    from initlint import report

    if diffs:
        click.echo("".join(diffs), nl=False)
    errors = report.render([d for d in diagnostics if d.code in FILE_ERROR_CODES], "concise")
    if errors:
        click.echo(errors, err=True)
    if not quiet:
        click.echo(f"Would fix {fixed} problem{'' if fixed == 1 else 's'}." if fixed else "No fixes available.", err=True)


def _confirm(diagnostics: List[Diagnostic], timeout: float, device: str) -> List[Diagnostic]:
    """Runtime confirmation of the static findings (imports and runs user code: only on request)."""
    from initlint.runtime import INSTALL_HINT, torch_available

    if not torch_available():
        click.echo(f"initlint: error: --runtime needs torch. {INSTALL_HINT}", err=True)
        sys.exit(EXIT_ERROR)
    from initlint.runtime.confirm import confirm

    return list(confirm(diagnostics, timeout=timeout, device=device))


def _settings(config_path: Optional[Path], paths: Sequence[str], cli: dict) -> Settings:
    try:
        return load(config_path, Path(paths[0]) if paths else Path.cwd(), cli)
    except ConfigError as error:
        click.echo(f"initlint: error: {error}", err=True)
        sys.exit(EXIT_ERROR)


def _report(diagnostics: Sequence[Diagnostic], settings: Settings, sources: dict, quiet: bool, fixed: int = 0) -> None:
    from initlint import report

    rules: dict = {}
    if diagnostics:  # the rules' docs and urls: importing them imports libcst, which a clean run never needs
        from initlint.rules import BY_CODE as rules

    text = report.render(diagnostics, settings.format, rules=rules, sources=sources, version=__version__)
    if text:
        click.echo(text, nl=not text.endswith("\n"))
    if not quiet and settings.format in ("concise", "full"):
        click.echo(report.summary(diagnostics, fixed=fixed), err=True)


def exit_code(diagnostics: Sequence[Diagnostic], exit_zero: bool = False) -> int:
    """2 for an internal error, 1 for findings (unless --exit-zero), else 0."""
    if any(d.code == INTERNAL_ERROR[0] for d in diagnostics):
        return EXIT_ERROR
    if diagnostics and not exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


@main.command("rule")
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="Print the documentation of every rule.")
def rule(code: Optional[str], show_all: bool) -> None:
    """Print a rule's documentation (`initlint rule IL001`), or list the rules."""
    from initlint.rules import ALL_RULES, BY_CODE

    if show_all:
        click.echo("\n\n".join(_rule_doc(r) for r in ALL_RULES))
        return
    if code is None:
        _list_rules()
        return
    found = BY_CODE.get(code.upper()) or next((r for r in ALL_RULES if r.name == code), None)
    if found is None:
        click.echo(f"initlint: error: unknown rule {code!r} (known: {', '.join(sorted(BY_CODE))})", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(_rule_doc(found))


@main.command("rules")
def rules() -> None:
    """List every rule: code, name and what it finds."""
    _list_rules()


def _list_rules() -> None:
    from initlint.rules import ALL_RULES

    width = max(len(r.name) for r in ALL_RULES)
    for r in ALL_RULES:
        click.echo(f"{r.code}  {r.name.ljust(width)}  {r.summary()}")
    click.echo(f"{', '.join(sorted(FILE_ERROR_CODES))}  file errors (cannot read, cannot parse, internal error): always on")


def _rule_doc(r) -> str:
    fix = "Fix is sometimes available." if r.fix_title and getattr(r, "fixable", False) else "No automatic fix."
    return f"# {r.name} ({r.code})\n\n{fix}\n\n{r.docs()}\n"


@main.command("lsp")
@click.option("--stdio", is_flag=True, help="Talk over stdin/stdout (the default and only transport).")
def lsp(stdio: bool) -> None:
    """Run the language server (needs the `lsp` extra: pip install 'initlint[lsp]')."""
    from initlint.lsp import serve  # pygls is imported only here

    serve()


if __name__ == "__main__":  # pragma: no cover
    run()
