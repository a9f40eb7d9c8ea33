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


class DefaultGroup(click.Group):
    """`initlint PATH...` means `initlint check PATH...`, as `ruff PATH` once meant `ruff check`."""

    def parse_args(self, ctx: click.Context, args: List[str]) -> List[str]:
        if not args:
            args = ["check"]
        elif args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["check", *args]
        return super().parse_args(ctx, args)


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
    diagnostics.sort(key=Diagnostic.sort_key)
    _report(diagnostics, settings, sources, quiet)
    sys.exit(exit_code(diagnostics, exit_zero))


def _settings(config_path: Optional[Path], paths: Sequence[str], cli: dict) -> Settings:
    try:
        return load(config_path, Path(paths[0]) if paths else Path.cwd(), cli)
    except ConfigError as error:
        click.echo(f"initlint: error: {error}", err=True)
        sys.exit(EXIT_ERROR)


def _report(diagnostics: Sequence[Diagnostic], settings: Settings, sources: dict, quiet: bool) -> None:
    from initlint import report
    from initlint.rules import BY_CODE

    text = report.render(diagnostics, settings.format, rules=BY_CODE, sources=sources, version=__version__)
    if text:
        click.echo(text, nl=not text.endswith("\n"))
    if not quiet and settings.format in ("concise", "full"):
        click.echo(report.summary(diagnostics), err=True)


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


if __name__ == "__main__":  # pragma: no cover
    main()
