"""The Rule base class: identity, documentation, examples, and the check over a file's facts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Iterable, Optional, Tuple

from initlint.diagnostic import Fix, Severity, docs_url

if TYPE_CHECKING:  # pragma: no cover
    import libcst as cst  # only for annotations: reporters import this module, and must not pay for libcst

    from initlint.facts import FileFacts
    from initlint.screen import Needs

REQUIRED_HEADINGS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead")


@dataclass(frozen=True)
class Finding:
    """What a rule reports: the node to point at, the filled message, and maybe a fix."""

    node: cst.CSTNode
    message: str
    fix: Optional[Fix] = None
    # Said instead of a fix when one cannot be offered safely.
    no_fix_reason: Optional[str] = None


class Rule:
    """Base class of every rule. Subclasses set the class attributes and implement `check`."""

    code: ClassVar[str]
    name: ClassVar[str]
    message: ClassVar[str]
    fix_title: ClassVar[Optional[str]] = None
    # Whether the rule sometimes offers a fix (its docs then carry a "## Fix safety" section).
    fixable: ClassVar[bool] = False
    severity: ClassVar[Severity] = Severity.ERROR
    # Code that must stay quiet / must be flagged: tests, and the docs' examples.
    valid: ClassVar[Tuple[str, ...]] = ()
    invalid: ClassVar[Tuple[str, ...]] = ()
    # What the rule's sites need in text, for the screen (initlint.screen.Needs). None: the screen
    # does not know the rule, and every file is parsed whole for it (never starved, only slower).
    # A rule module imports only light modules at its top: the registry is read before any file
    # is known to need libcst.
    needs: ClassVar[Optional["Needs"]] = None

    def check(self, facts: "FileFacts") -> Iterable[Finding]:  # pragma: no cover - abstract
        """Judge one file's facts."""
        raise NotImplementedError

    @classmethod
    def docs(cls) -> str:
        """The rule's documentation (its docstring), dedented."""
        import inspect  # imported late: a run that reports nothing never needs it

        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        """The first sentence of 'What it does'."""
        text = cls.docs()
        _, _, rest = text.partition("## What it does")
        body = " ".join(rest.strip().split("\n\n", 1)[0].split())
        # The first clause: up to the first colon or full stop outside parentheses.
        depth = 0
        for i, char in enumerate(body):
            depth += (char == "(") - (char == ")")
            if depth == 0 and char in ":." and (i + 1 == len(body) or body[i + 1] == " "):
                return body[:i] + "."
        return body

    @classmethod
    def url(cls) -> str:
        """Where the rule's documentation lives."""
        return docs_url(cls.code)
