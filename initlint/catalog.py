"""Every code initlint can report, with its documentation, read from where each family is defined:
the static rules from their registry (`initlint.rules.ALL_RULES`), the runtime codes from
`initlint.runtime.codes`, the file and configuration errors from `initlint.diagnostic` (their
documentation is kept here). `initlint rule(s)`, the reporters' rule metadata (SARIF, JSON) and
docs/rules.md all read this, so a new rule appears everywhere once it is registered.

Importing the static rules imports libcst: call these only when documentation is wanted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Type

from initlint import diagnostic
from initlint.rule import Rule

STATIC, RUNTIME, FILE = "static", "runtime", "file"
FAMILY_TITLES = {
    STATIC: "Static rules (IL0xx): read from the code, never run",
    RUNTIME: "Runtime codes (IL1xx): measured by `initlint runtime` and `--runtime`",
    FILE: "File and configuration errors (IL9xx): always on",
}

# The documentation of the codes that are about a file or the configuration, not about a model.
_FILE_DOCS: Dict[str, Tuple[str, str, str]] = {
    diagnostic.SYNTAX_ERROR[0]: (
        "The file does not parse as Python (or nests deeper than initlint's parser can follow), "
        "so none of its code was checked. The location is the error's.",
        "A file initlint cannot read is a file it cannot vouch for: nothing in it was checked.",
        "Fix the syntax error (`python -m py_compile FILE` shows it too).",
    ),
    diagnostic.IO_ERROR[0]: (
        "The file could not be read: it is missing, unreadable, not a regular file, not valid "
        "in its declared encoding, or a notebook whose JSON is broken. `--fix` could not write it "
        "is reported with this code too.",
        "Nothing in the file was checked (or fixed).",
        "Make the file readable (permissions, encoding, a valid notebook), or exclude it.",
    ),
    diagnostic.INTERNAL_ERROR[0]: (
        "initlint itself failed on this file: a bug of ours. The message names the rule or the "
        "step that failed; the rest of the run goes on, and the exit code is 2.",
        "The file was not fully checked.",
        "Report it with the file (or a reduced copy of it), and `# noqa` is no use: exclude the "
        "file until it is fixed.",
    ),
    diagnostic.CONFIG_ERROR[0]: (
        "The configuration that applies to this file (a `pyproject.toml`, `initlint.toml` or "
        "`.initlint.toml` on the way up) cannot be used: not UTF-8, not TOML, an unknown key or a "
        "value of the wrong type. `initlint check` stops with exit code 2 and the message; the "
        "flake8 plugin and the language server, which cannot stop, report it on the file.",
        "Without its configuration, initlint cannot know which rules and files you meant.",
        "Fix the file named in the message (`initlint check` says the same on the command line).",
    ),
}


@dataclass(frozen=True)
class Entry:
    """One code: what `initlint rule` prints and docs/rules.md shows."""

    code: str
    name: str
    family: str
    rule: Type[Rule]

    @property
    def summary(self) -> str:
        return self.rule.summary()

    @property
    def docs(self) -> str:
        return self.rule.docs()

    @property
    def url(self) -> str:
        return self.rule.url()

    @property
    def fixable(self) -> bool:
        return bool(getattr(self.rule, "fixable", False) and self.rule.fix_title)


def _documented(code: str, name: str, what: str, why: str, instead: str) -> Type[Rule]:
    """A Rule class that only carries documentation (for codes no static rule reports)."""
    doc = f"## What it does\n{what}\n\n## Why is this bad?\n{why}\n\n## Use instead\n{instead}\n"
    return type(f"Documented{code}", (Rule,), {"__doc__": doc, "code": code, "name": name, "message": "{message}"})


def file_error_rules() -> Dict[str, Type[Rule]]:
    """Documentation classes of the file and configuration error codes."""
    names = dict(diagnostic.FILE_ERRORS)
    return {code: _documented(code, names[code], *_FILE_DOCS[code]) for code in sorted(names)}


def entries() -> List[Entry]:
    """Every code, static rules first, each family in code order."""
    from initlint.rules import ALL_RULES
    from initlint.runtime import codes as runtime

    out = [Entry(r.code, r.name, STATIC, r) for r in sorted(ALL_RULES, key=lambda r: r.code)]
    out += [Entry(code, r.name, RUNTIME, r) for code, r in sorted(runtime.rules().items())]
    out += [Entry(code, r.name, FILE, r) for code, r in file_error_rules().items()]
    return out


def classes() -> Dict[str, Type[Rule]]:
    """Every code's documentation class, by code: the `rules` mapping reporters take."""
    return {entry.code: entry.rule for entry in entries()}


def find(query: str) -> Optional[Entry]:
    """The entry for a code (`IL001`, any case) or a name (`constant-weight-init`)."""
    wanted = query.strip()
    for entry in entries():
        if entry.code == wanted.upper() or entry.name == wanted.lower():
            return entry
    return None
