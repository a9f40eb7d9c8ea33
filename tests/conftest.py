"""Shared test helpers: lint a snippet, lint a fixture, run the CLI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Tuple

import pytest

from initlint.config import Settings, all_codes
from initlint.diagnostic import Diagnostic
from initlint.engine import lint_source

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SEED_CASES = ROOT.parent / "shared" / "seed-cases"
UPDATE = os.environ.get("INITLINT_UPDATE_SNAPSHOTS") == "1"


def settings(**changes) -> Settings:
    """Default settings (every rule) with some fields changed."""
    base = Settings(select=all_codes(), root=str(ROOT))
    return base.with_overrides(**changes) if changes else base


def lint(source: str, path: str = "snippet.py", **changes) -> List[Diagnostic]:
    """Diagnostics for a snippet of code."""
    return lint_source(source, path, settings(**changes))


def codes(source: str, **changes) -> List[Tuple[int, str]]:
    """(row, code) of each diagnostic for a snippet."""
    return [(d.location.row, d.code) for d in lint(source, **changes)]


@pytest.fixture
def root() -> Path:
    return ROOT


# A file with one finding, at 3:1: W1's 8 units start identical and stay tied for ever (IL001: no
# bias, and W2 is constant too; W2 has one unit, so it is not reported itself).
BAD_SCRIPT = (
    "import torch\n"
    "W2 = torch.ones(8, 1, requires_grad=True)\n"
    "W1 = torch.ones(4, 8, requires_grad=True)\n"
    "loss = (torch.relu(torch.randn(2, 4) @ W1) @ W2).sum()\n"
)
