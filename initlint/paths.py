"""What a file's path says about it (light: read before any file is parsed)."""

from __future__ import annotations

_TEST_FOLDERS = ("tests", "test", "testing")


def is_test_path(path: str) -> bool:
    """A file pytest would collect or configure tests from, or one in a tests folder: `tests/`,
    `test_*.py`, `*_test.py`, `conftest.py`."""
    parts = path.replace("\\", "/").split("/")
    name = parts[-1]
    if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
        return True
    return any(part in _TEST_FOLDERS for part in parts[:-1])
