"""Plain, frozen, picklable result data: what rules find and what reporters print."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional, Tuple


class Severity(str, enum.Enum):
    """How bad a finding is; every rule today reports errors."""

    ERROR = "error"
    WARNING = "warning"


class Applicability(str, enum.Enum):
    """ruff's fix applicability: only `safe` fixes are applied by plain `--fix`."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


@dataclass(frozen=True)
class Edit:
    """Replace source[start:end] (character offsets) with `content`."""

    start: int
    end: int
    content: str


@dataclass(frozen=True)
class Fix:
    """A set of non-overlapping edits that together remove one finding."""

    title: str
    edits: Tuple[Edit, ...]
    applicability: Applicability = Applicability.SAFE


@dataclass(frozen=True, order=True)
class Location:
    """1-based row and column (columns count characters, as ruff's do)."""

    row: int
    column: int


@dataclass(frozen=True)
class Diagnostic:
    """One finding in one file."""

    code: str
    name: str
    message: str
    path: str
    location: Location
    end_location: Location
    severity: Severity = Severity.ERROR
    fix_title: Optional[str] = None
    fix: Optional[Fix] = None
    url: Optional[str] = None
    # Notebooks: the 1-based cell the location is in, counting every cell as Jupyter shows them
    # (markdown included); rows and columns are then relative to the cell.
    cell: Optional[int] = None
    # Free-form evidence appended by later passes (the runtime confirmation, say).
    notes: Tuple[str, ...] = field(default=())

    def sort_key(self) -> tuple:
        """Stable order: file, position, code."""
        return (self.path, self.cell or 0, self.location, self.code, self.message)


# Codes of the diagnostics that are about a file rather than a rule.
SYNTAX_ERROR = ("IL901", "syntax-error")
IO_ERROR = ("IL902", "io-error")
INTERNAL_ERROR = ("IL903", "internal-error")
FILE_ERROR_CODES = frozenset(code for code, _ in (SYNTAX_ERROR, IO_ERROR, INTERNAL_ERROR))


def file_error(kind: Tuple[str, str], path: str, message: str, row: int = 1, column: int = 1) -> Diagnostic:
    """A diagnostic that says a file could not be read, parsed or checked."""
    code, name = kind
    loc = Location(row, column)
    return Diagnostic(code=code, name=name, message=message, path=path, location=loc, end_location=loc)
