"""`initlint rule`, `initlint rules` and `initlint matcher-path`: documentation and shipped files
(imported only when one of them runs)."""

from __future__ import annotations

import sys
from typing import Any, Dict, Optional

import click

EXIT_ERROR = 2


@click.command("rule")
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="Print the documentation of every code.")
@click.option("--output-format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rule(code: Optional[str], show_all: bool, fmt: str) -> None:
    """Print the documentation of a code or name (`initlint rule IL001`, `initlint rule IL901`),
    or list every code."""
    from initlint import catalog

    if show_all:
        chosen = catalog.entries()
    elif code is None:
        _list_codes()
        return
    else:
        found = catalog.find(code)
        if found is None:
            known = ", ".join(e.code for e in catalog.entries())
            click.echo(f"initlint: error: unknown rule {code!r} (known: {known})", err=True)
            sys.exit(EXIT_ERROR)
        chosen = [found]
    from initlint.cli import _write  # (a full disk: one error line and exit 2, as for a report)

    if fmt == "json":
        import json

        data = [_rule_json(e) for e in chosen]
        _write(json.dumps(data if show_all else data[0], indent=2), None)
    else:
        _write("\n\n".join(_rule_doc(e) for e in chosen), None)


@click.command("rules")
def rules() -> None:
    """List every code: static rules, runtime codes and file errors."""
    _list_codes()


def _list_codes() -> None:
    from initlint import catalog

    from initlint.cli import _write

    entries = catalog.entries()
    width = max(len(e.name) for e in entries)
    family = None
    lines = []
    for e in entries:
        if e.family != family:
            if family is not None:
                lines.append("")
            family = e.family
            lines.append(f"{catalog.FAMILY_TITLES[family]}:")
        lines.append(f"{e.code}  {e.name.ljust(width)}  {e.summary}")
    _write("\n".join(lines), None)


def _rule_doc(entry) -> str:
    fix = "Fix is sometimes available." if entry.fixable else "No automatic fix."
    return f"# {entry.name} ({entry.code})\n\n{fix}\n\n{entry.docs}\n\nDocumentation: {entry.url}\n"


def _rule_json(entry) -> Dict[str, Any]:
    return {"code": entry.code, "name": entry.name, "family": entry.family, "summary": entry.summary,
            "fixable": entry.fixable, "explanation": entry.docs, "url": entry.url}


@click.command("matcher-path")
def matcher_path() -> None:
    """Print the path of the problem matcher (GitHub Actions' `::add-matcher::`, VS Code tasks)
    for the concise format, shipped inside the package."""
    from initlint import editors

    click.echo(editors.problem_matcher_path())
