"""The README's fenced code blocks, for the tests that run them (tests/test_readme.py and the
integration tests that take their snippet from the README rather than a copy of it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import List

README = Path(__file__).resolve().parent.parent / "README.md"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```\s*$", re.M | re.S)
_HEADING = re.compile(r"^#+ (.*)$", re.M)
SHA_PLACEHOLDER = "<commit sha>"


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, text, first line in README.md and the heading above it."""

    language: str
    text: str
    line: int
    section: str

    def __str__(self) -> str:
        return f"README.md:{self.line} ({self.language}, {self.section})"

    def commands(self) -> List[str]:
        """A shell block's commands (or a console block's `$ ` lines), one a line, without comments."""
        prompts = self.language == "console" and any(line.startswith("$ ") for line in self.text.splitlines())
        out = []
        for raw in self.text.splitlines():
            if prompts and not raw.startswith("$ "):
                continue  # output
            line = _uncomment(raw[2:] if prompts else raw)
            if line:
                out.append(line)
        return out

    def output(self) -> List[str]:
        """A console block's output lines (those without a `$ ` prompt)."""
        return [line for line in self.text.splitlines() if not line.startswith("$ ")]


def _uncomment(line: str) -> str:
    """A shell line without its trailing `# comment` (a `#` outside quotes, after a space)."""
    quote = ""
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def blocks() -> List[Block]:
    """Every fenced block of README.md, in order."""
    text = README.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        headings = _HEADING.findall(text, 0, match.start())
        found.append(Block(match.group(1), match.group(2), text.count("\n", 0, match.start()) + 1, headings[-1] if headings else ""))
    return found


def only(predicate) -> Block:
    """The one block `predicate` accepts (a test fails loudly if the README changed shape)."""
    chosen = [block for block in blocks() if predicate(block)]
    assert len(chosen) == 1, f"expected one README block, found {[str(b) for b in chosen]}"
    return chosen[0]
