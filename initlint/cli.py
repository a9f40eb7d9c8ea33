"""The command line: a thin layer from arguments to settings, a run, a report and an exit code."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import click

from initlint import __version__
from initlint.config import FORMATS, ConfigError, Resolver
from initlint.diagnostic import FILE_ERROR_CODES, INTERNAL_ERROR, Diagnostic

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


# Commands whose module is imported only when they run (or when `--help` lists them): `initlint
# check` on a clean file must not pay for the runtime command's imports.
LAZY_COMMANDS = {
    "runtime": ("initlint.runtime.cli", "runtime_command"),
    "rule": ("initlint.cli_docs", "rule"),
    "rules": ("initlint.cli_docs", "rules"),
    "matcher-path": ("initlint.cli_docs", "matcher_path"),
}


class DefaultGroup(click.Group):
    """`initlint PATH...` means `initlint check PATH...`, and `initlint` alone `initlint check .`,
    as `ruff PATH` once meant `ruff check`. A first word that is neither a command nor an existing
    path is a typo of a command, not a missing file: a usage error that names the commands."""

    def parse_args(self, ctx: click.Context, args: List[str]) -> List[str]:
        if not args:
            args = ["check"]
        else:
            first = args[0]
            if first in self.commands or first in LAZY_COMMANDS or first in ("--help", "-h", "--version"):
                pass
            elif first.startswith("-") or os.path.lexists(first):
                args = ["check", *args]  # options of `check`, `-` (stdin), or a path
            else:
                raise click.UsageError(self._unknown(ctx, first), ctx)
        return super().parse_args(ctx, args)

    def _unknown(self, ctx: click.Context, word: str) -> str:
        import difflib  # (only for a message)

        commands = self.list_commands(ctx)
        close = difflib.get_close_matches(word, commands, n=1)
        hint = f" Did you mean `initlint {close[0]}`?" if close else ""
        return f"{word!r} is neither a command nor an existing file or folder.{hint} Commands: {', '.join(commands)}."

    def list_commands(self, ctx: click.Context) -> List[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> Optional[click.Command]:
        if name in LAZY_COMMANDS and name not in self.commands:
            import importlib

            module, attribute = LAZY_COMMANDS[name]
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)


def _split(values: Sequence[str]) -> Tuple[str, ...]:
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="initlint", message="%(prog)s %(version)s")
def main() -> None:
    """initlint: find weight initialisations that stop PyTorch models from learning.

    `initlint PATH...` is `initlint check PATH...`; `initlint` alone checks the current folder.
    """


@main.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (comma-separated).")
@click.option("--extend-select", multiple=True, help="Codes or prefixes to enable on top of `select`.")
@click.option("--ignore", multiple=True, help="Codes or prefixes to disable.")
@click.option("--per-file-ignores", multiple=True, metavar="PATTERN:CODES", help="Disable codes for files matching a glob.")
@click.option("--exclude", multiple=True, help="Replace the default excluded folders/files (globs).")
@click.option("--extend-exclude", multiple=True, help="Exclude these globs as well.")
@click.option("--force-exclude", is_flag=True, default=None, help="Apply excludes to files named on the command line too (pre-commit).")
@click.option("--respect-gitignore/--no-respect-gitignore", default=None, help="Skip files that .gitignore files ignore (default: on).")
@click.option("--format", "--output-format", "fmt", type=click.Choice(FORMATS), default=None, help="Output format (default: concise).")
@click.option("-o", "--output-file", type=click.Path(dir_okay=False, path_type=str), default=None, help="Write the report to this file instead of stdout.")
@click.option("--config", "configs", multiple=True, metavar="PATH | KEY=VALUE",
              help="A configuration file used for every file instead of the discovered ones, or one `key = value` override (TOML).")
@click.option("-j", "--jobs", type=click.IntRange(min=0), default=None, help="Worker processes (default: every core).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="With --fix: exit 1 when something was fixed, even if nothing is left.")
@click.option("--statistics", is_flag=True, help="Print how many findings of each code instead of the findings.")
@click.option("--show-fixes/--no-show-fixes", default=False, help="With --fix: list what was fixed, file by file.")
@click.option("-q", "--quiet", is_flag=True, help="Print the findings only: no summary.")
@click.option("-s", "--silent", is_flag=True, help="Print nothing; the exit code still says whether there were findings.")
@click.option("--no-color", is_flag=True, help="No colours (also: NO_COLOR set, or output not a terminal).")
@click.option("--fix/--no-fix", default=False, help="Apply safe fixes in place; report what is left.")
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=False, help="With --fix or --diff, apply unsafe fixes too.")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff and write nothing (exit 1 if any).")
@click.option("--stdin-filename", default=None, metavar="PATH", help="Read the code from stdin (or with `-` as the path) and report it as PATH.")
@click.option("-w", "--watch", is_flag=True, help="Check again whenever a file changes (Ctrl-C stops).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache of results.")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=str), default=None, help="Where to keep the cache (default: .initlint_cache in the project root).")
@click.option("--runtime", "confirm_runtime", is_flag=True, help="Then build each flagged nn.Module the way the file does (needs torch) and confirm or refute each finding; a refuted one does not fail the run.")
@click.option("--runtime-timeout", type=click.FloatRange(min=1), default=60.0, show_default=True, help="Seconds per module for --runtime.")
@click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default="cpu", show_default=True, help="Where --runtime builds the modules.")
def check(paths: Tuple[str, ...], **options: Any) -> None:
    """Lint PATHS (files and folders, recursively; default: the current folder) for
    initialisation bugs. `-` reads the code from stdin."""
    opts = _Options(options)
    stdin = paths == ("-",) or (not paths and opts.stdin_filename is not None)
    if "-" in paths and not stdin:
        _usage("`-` (standard input) cannot be combined with other paths")
    if opts.watch and (stdin or opts.diff or opts.confirm_runtime):
        _usage("--watch cannot be combined with standard input, --diff or --runtime")
    paths = paths or (".",)
    if opts.watch:  # a broken configuration is reported and waited for, not fatal
        from initlint import watch

        watch.loop(paths, lambda: _resolver(options, stop=False), lambda r: _check_paths(paths, r, opts))
    resolver = _resolver(options)
    if stdin:
        sys.exit(_check_stdin(resolver, opts))
    sys.exit(_check_paths(paths, resolver, opts))


class _Options:
    """The check command's options as attributes."""

    def __init__(self, options: Dict[str, Any]) -> None:
        self.__dict__.update(options)
        if self.silent:
            self.quiet = True


def _cli_settings(options: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "select": _split(options["select"]),
        "extend-select": _split(options["extend_select"]),
        "ignore": _split(options["ignore"]),
        "per-file-ignores": options["per_file_ignores"],
        "exclude": _split(options["exclude"]),
        "extend-exclude": _split(options["extend_exclude"]),
        "force-exclude": options["force_exclude"],
        "respect-gitignore": options["respect_gitignore"],
        "format": options["fmt"],
        "jobs": options["jobs"],
        "no-cache": options["no_cache"],
        "cache-dir": options["cache_dir"],
    }


def _resolver(options: Dict[str, Any], stop: bool = True) -> Optional[Resolver]:
    """The run's settings; a configuration error is a message and exit 2 (or, `stop` False, None)."""
    try:
        return Resolver(_cli_settings(options), options["configs"])
    except ConfigError as error:
        click.echo(f"initlint: error: {error}", err=True)
        if stop:
            sys.exit(EXIT_ERROR)
        return None


def _usage(message: str) -> None:
    raise click.UsageError(message)


def _check_paths(paths: Sequence[str], resolver: Resolver, opts: _Options) -> int:
    """One run over `paths`: report it and return the exit code."""
    from initlint import checking

    try:
        outcome = checking.run(paths, resolver, fix=opts.fix, diff=opts.diff, unsafe=opts.unsafe_fixes)
    except ConfigError as error:  # a configuration met on the way down, in a subfolder
        click.echo(f"initlint: error: {error}", err=True)
        return EXIT_ERROR
    settings = resolver.globals
    if not opts.quiet:
        for warning in outcome.warnings:  # (problems of the run, such as a cache that cannot be written)
            click.echo(f"initlint: warning: {warning}", err=True)
    if opts.diff:
        _report_diff(outcome.diagnostics, outcome.diffs, outcome.fixed, opts)
        return EXIT_ERROR if outcome.broken else EXIT_FINDINGS if outcome.diffs else EXIT_CLEAN
    diagnostics = counted = outcome.diagnostics
    if opts.confirm_runtime:
        diagnostics, counted = _confirm(diagnostics, opts, paths)
    if opts.show_fixes and not opts.silent and outcome.fixed:
        from initlint.catalog import entries
        from initlint.report import fixes

        click.echo(fixes.render(outcome.fixed_codes, {e.code: e.name for e in entries()}), err=True)
    _report(diagnostics, settings.format, outcome.sources, opts, outcome.fixed)
    code = exit_code(counted, opts.exit_zero)
    if code == EXIT_CLEAN and opts.exit_non_zero_on_fix and outcome.fixed:
        code = EXIT_FINDINGS
    return code


def _check_stdin(resolver: Resolver, opts: _Options) -> int:
    """`initlint -` / `--stdin-filename PATH`: lint standard input; with --fix the fixed code goes
    to stdout and the findings left to stderr (ruff's convention)."""
    from initlint import checking

    named = opts.stdin_filename is not None
    path = opts.stdin_filename or "-"
    try:
        settings = resolver.for_path(path) if named else resolver.globals
    except ConfigError as error:
        click.echo(f"initlint: error: {error}", err=True)
        return EXIT_ERROR
    data = getattr(sys.stdin, "buffer", sys.stdin).read()
    done = checking.stdin(data, path, settings, fix=opts.fix or opts.diff, unsafe=opts.unsafe_fixes, named=named)
    sources = {path: done.text} if done.text else {}
    if opts.diff:
        from initlint import fix as fixing

        diff = fixing.unified_diff(path, done.text, done.fixed_text) if done.fixed_text is not None else ""
        _report_diff(done.diagnostics, [diff] if diff else [], done.fixed, opts)
        return EXIT_FINDINGS if diff else EXIT_CLEAN
    if opts.fix:
        _write(done.fixed_text if done.fixed_text is not None else done.text, None, nl=False)
        _report(done.diagnostics, resolver.globals.format, sources, opts, done.fixed, to_stderr=True)
    else:
        _report(done.diagnostics, resolver.globals.format, sources, opts)
    return exit_code(done.diagnostics, opts.exit_zero)


def _report_diff(diagnostics: Sequence[Diagnostic], diffs: Sequence[str], fixed: int, opts: _Options) -> None:
    """`--diff`: the diffs on stdout, file errors and a count on stderr (ruff's convention)."""
    from initlint import report

    if diffs and not opts.silent:
        _write(report.printable("".join(diffs)), opts.output_file, nl=False)
    errors = report.render([d for d in diagnostics if d.code in FILE_ERROR_CODES], "concise")
    if errors and not opts.silent:
        click.echo(errors, err=True)
    if not opts.quiet:
        click.echo(f"Would fix {fixed} problem{'' if fixed == 1 else 's'}." if fixed else "No fixes available.", err=True)


def _confirm(diagnostics: List[Diagnostic], opts: _Options, paths: Sequence[str]) -> Tuple[List[Diagnostic], List[Diagnostic]]:
    """Runtime confirmation of the static findings (imports and runs user code: only on request).

    Returns (every diagnostic with its runtime note, sorted; those that count for the exit code):
    a finding the probe refuted is still shown, but does not fail the run (docs/runtime.md)."""
    from initlint.runtime import INSTALL_HINT, torch_available

    if not torch_available():
        click.echo(f"initlint: error: --runtime needs torch. {INSTALL_HINT}", err=True)
        sys.exit(EXIT_ERROR)
    from initlint.runtime import settings as runtime_settings
    from initlint.runtime.claims import counts_against_exit
    from initlint.runtime.confirm import confirm
    from initlint.runtime.spec import UsageError

    config = next((Path(c) for c in opts.configs if os.path.isfile(c)), None)  # `--config PATH`, not KEY=VALUE
    try:
        targets = runtime_settings.load(config, Path(paths[0]) if paths else Path.cwd())
    except UsageError as error:
        click.echo(f"initlint: error: {error}", err=True)
        sys.exit(EXIT_ERROR)
    confirmed = sorted(confirm(diagnostics, timeout=opts.runtime_timeout, device=opts.device, settings=targets, progress=not opts.quiet),
                       key=Diagnostic.sort_key)
    return confirmed, [d for d in confirmed if counts_against_exit(d)]


def use_color(no_color: bool, output_file: Optional[str], stream=None) -> bool:
    """Colours only on a terminal, and never with --no-color, NO_COLOR or TERM=dumb (FORCE_COLOR forces them)."""
    if no_color or output_file or os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    stream = stream if stream is not None else sys.stdout
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _report(diagnostics: Sequence[Diagnostic], fmt: str, sources: dict, opts: _Options, fixed: int = 0, to_stderr: bool = False) -> None:
    from initlint import report

    if opts.silent:
        return
    color = use_color(opts.no_color, opts.output_file, sys.stderr if to_stderr else sys.stdout)
    if opts.statistics:
        from initlint.report import statistics

        text = statistics.render(diagnostics, fmt, opts.unsafe_fixes)
    else:
        rules: dict = {}
        if diagnostics and fmt in report.RULE_FORMATS:  # (importing the rules' docs imports libcst and the runtime's codes)
            from initlint.catalog import classes

            rules = classes()
        text = report.render(diagnostics, fmt, rules=rules, sources=sources, version=__version__,
                             unsafe_fixes=opts.unsafe_fixes, color=color)
    if text or opts.output_file:
        _write(text, None if to_stderr else opts.output_file, nl=bool(text) and not text.endswith("\n"), err=to_stderr, color=color)
    if not opts.quiet and (fmt in ("concise", "full") or opts.output_file):
        click.echo(report.summary(diagnostics, fixed=fixed, unsafe_fixes=opts.unsafe_fixes), err=True)


def _write(text: str, output_file: Optional[str], nl: bool = True, err: bool = False, color: bool = False) -> None:
    """The report to stdout (or stderr), or to `output_file`; a write that fails (a full disk, a
    closed pipe) is one error line and exit 2, never a traceback."""
    try:
        if output_file is not None:
            folder = os.path.dirname(os.path.abspath(output_file))
            os.makedirs(folder, exist_ok=True)
            with open(output_file, "w", encoding="utf-8", newline="") as handle:
                handle.write(text + ("\n" if nl else ""))
            return
        click.echo(text, nl=nl, err=err, color=color or None)
        (sys.stderr if err else sys.stdout).flush()
    except BrokenPipeError:  # `initlint | head`: the reader has gone, nothing more to say
        sys.exit(EXIT_ERROR)
    except OSError as error:
        where = output_file or ("stderr" if err else "stdout")
        if output_file is None:
            _discard(sys.stderr if err else sys.stdout)
        click.echo(f"initlint: error: cannot write the report to {where}: {error.strerror or error}", err=True)
        sys.exit(EXIT_ERROR)


def _discard(stream) -> None:
    """Point a stream's file descriptor at the null device, so that the text still buffered in it
    does not fail a second time (with a traceback) when Python flushes it at exit."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):  # no real descriptor (a test's captured stream)
        pass


def exit_code(diagnostics: Sequence[Diagnostic], exit_zero: bool = False) -> int:
    """2 for an internal error, 1 for findings (unless --exit-zero), else 0."""
    if any(d.code == INTERNAL_ERROR[0] for d in diagnostics):
        return EXIT_ERROR
    if diagnostics and not exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN


def run() -> None:
    """The console script (and `python -m initlint`): `main` in a process of its own. SIGINT and
    SIGTERM stop it cleanly (workers ended, no traceback) with exit 130 and 143."""
    from initlint import interrupt

    _tune_gc()
    interrupt.install()
    try:
        main()
    except interrupt.Interrupted as stop:
        try:
            click.echo(f"initlint: interrupted ({stop.name})", err=True)
        except OSError:
            pass
        sys.exit(stop.exit_code)


def _tune_gc() -> None:
    """For a process that is one run of the command (not a caller's, nor a test's): a lint run
    allocates many objects that live to its end (importing libcst alone makes ~100k; then its
    trees) and few cycles: CPython's default of a collection every 700 allocations re-scans them
    again and again (a tenth of a one-file run). Collect less often, and leave what start-up made
    out of the scans. Costs ~20 MiB at the peak of a corpus run."""
    import gc

    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


@main.command("lsp")
@click.option("--stdio", is_flag=True, help="Talk over stdin/stdout (the default and only transport).")
def lsp(stdio: bool) -> None:
    """Run the language server (needs the `lsp` extra: pip install 'initlint[lsp]')."""
    from initlint.lsp import serve  # pygls is imported only here

    serve()


if __name__ == "__main__":  # pragma: no cover
    run()
