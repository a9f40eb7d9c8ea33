"""Files shipped for editors and CI: the problem matcher of the concise format."""

from __future__ import annotations

import os

MATCHER_NAME = "initlint-problem-matcher.json"


def problem_matcher_path() -> str:
    """The absolute path of the problem matcher JSON installed with the package."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), MATCHER_NAME)
