"""Odd layout that Python accepts must not lose findings: classes inside module-level `if`/`try`,
CR-only newlines, form feeds. (Regression tests for the cases that hold today; the screen and the
parser are being reworked, and these pin what must keep working.)"""

from __future__ import annotations

import ast
import re

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
    # libcst's tokenizer rejects a form feed in the margin of a nested block's first line; CPython
    # resets the indentation's column there.
    "form-feed-opening-a-nested-block": ["import torch.nn as nn", *BODY[:2], "\x0c" + BODY[2], *BODY[3:]],
    "form-feeds-mid-margin": ["import torch.nn as nn", *BODY[:2], "  \x0c" + BODY[2], *BODY[3:5], "\x0c \x0c" + BODY[5], *BODY[6:]],
}


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr-only"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_finding_survives_odd_layout(name, newline):
    lines = CASES[name]
    source = newline.join(lines) + newline
    ast.parse(source)  # Python accepts it
    row = next(i for i, line in enumerate(lines, start=1) if "constant_(self.fc" in line)
    assert [(d.location.row, d.code) for d in lint(source)] == [(row, "IL001")]


def test_a_form_feed_in_the_margin_keeps_columns_and_drops_the_fix(tmp_path):
    """Parsed without the margins' form feeds: each finding where the file has it, and no fix
    (its offsets would be into a text without them); --fix leaves the file as it was."""
    from click.testing import CliRunner

    from initlint.cli import main

    lines = [
        "import torch.nn as nn",
        "class Net(nn.Module):",
        "    def __init__(self):",
        "\x0c        super().__init__()",
        "\x0c  \x0c        self._init_weights()",
        "        self.fc = nn.Linear(2, 2)",
        "    def _init_weights(self):",
        "        for m in self.modules():",
        "\x0c            if isinstance(m, nn.Linear):",
        "                nn.init.xavier_uniform_(m.weight)",
    ]
    source = "\n".join(lines) + "\n"
    ast.parse(source)
    found = lint(source)
    assert [(d.location.row, d.location.column, d.code) for d in found] == [(5, lines[4].index("self") + 1, "IL004")]
    assert found[0].fix is None and "no fix" in found[0].message
    levelled = re.sub(r"^[ \t\f]*\f", "", source, flags=re.MULTILINE)
    assert lint(levelled)[0].fix is not None  # the same code without them is fixable
    path = tmp_path / "net.py"
    path.write_bytes(source.encode())
    CliRunner().invoke(main, ["check", "--no-cache", "--fix", str(path)])
    assert path.read_bytes() == source.encode()
