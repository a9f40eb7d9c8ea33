"""Odd layout that Python accepts must not lose findings: classes inside module-level `if`/`try`,
CR-only newlines, form feeds. (Regression tests for the cases that hold today; the screen and the
parser are being reworked, and these pin what must keep working.)"""

from __future__ import annotations

import ast

import pytest

from conftest import lint

# self.fc's units start tied and stay tied (no bias, a constant layer after it): one IL001.
BODY = [
    "class Net(nn.Module):",
    "    def __init__(self):",
    "        super().__init__()",
    "        self.fc = nn.Linear(2, 2, bias=False)",
    "        self.out = nn.Linear(2, 1, bias=False)",
    "        nn.init.constant_(self.fc.weight, 1)",
    "        nn.init.constant_(self.out.weight, 1)",
    "    def forward(self, x):",
    "        return self.out(self.fc(x).relu())",
]


def _indented(lines, by="    "):
    return [by + line for line in lines]


CASES = {
    "module-level-if": ["import torch.nn as nn", "import sys", "if sys.version_info >= (3,):", *_indented(BODY), "else:", "    Net = None"],
    "module-level-try": ["import torch.nn as nn", "try:", *_indented(BODY), "except ImportError:", "    pass"],
    "module-level-else": ["import torch.nn as nn", "if False:", "    pass", "else:", *_indented(BODY)],
    "form-feed-before-class": ["import torch.nn as nn", "\x0c" + BODY[0], *BODY[1:]],
    "form-feed-line-in-a-body": ["import torch.nn as nn", *BODY[:3], "\x0c", *BODY[3:]],
}


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr-only"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_finding_survives_odd_layout(name, newline):
    lines = CASES[name]
    source = newline.join(lines) + newline
    ast.parse(source)  # Python accepts it
    row = next(i for i, line in enumerate(lines, start=1) if "constant_(self.fc" in line)
    assert [(d.location.row, d.code) for d in lint(source)] == [(row, "IL001")]
