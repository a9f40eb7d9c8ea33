"""docs/rules.md is what docs/gen_rules.py writes, it documents every code of every family, and
every documentation URL initlint emits (JSON, SARIF, the language server, `initlint rule`)
resolves to a heading anchor of a page in this repository, as GitHub computes anchors."""

from __future__ import annotations

import importlib.util
import json
import re
import unicodedata
from pathlib import Path
from typing import Dict, Set

import pytest
from click.testing import CliRunner

from conftest import FIXTURES, ROOT
from initlint import catalog
from initlint.cli import main

BLOB = "https://github.com/initlint/initlint/blob/main/"


def _generator():
    spec = importlib.util.spec_from_file_location("gen_rules", ROOT / "docs" / "gen_rules.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = heading.strip().lower()
    text = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in "LN")
    return text.replace(" ", "-")


def anchors(path: Path) -> Set[str]:
    """Every heading anchor of a markdown page (duplicates get -1, -2, ... as on GitHub)."""
    seen: Dict[str, int] = {}
    found = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = re.match(r"^#{1,6} +(.+?)\s*#*\s*$", line)
        if match and not fenced:
            base = slug(re.sub(r"[`*]", "", match.group(1)))
            count = seen.get(base, 0)
            found.add(base if count == 0 else f"{base}-{count}")
            seen[base] = count + 1
    return found


def resolves(url: str) -> bool:
    assert url.startswith(BLOB), url
    page, _, anchor = url[len(BLOB):].partition("#")
    target = ROOT / page
    return target.is_file() and anchor in anchors(target)


def test_rules_page_is_current():
    generated = _generator().render()
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == generated, "run: python docs/gen_rules.py"


def test_the_check_mode_says_so(tmp_path, monkeypatch):
    generator = _generator()
    monkeypatch.setattr(generator, "OUTPUT", tmp_path / "rules.md")
    (tmp_path / "rules.md").write_text("stale\n")
    monkeypatch.setattr(generator, "ROOT", tmp_path)
    assert generator.main(["--check"]) == 1
    assert generator.main([]) == 0 and generator.main(["--check"]) == 0


def test_every_code_of_every_family_has_its_section():
    from initlint.diagnostic import FILE_ERRORS
    from initlint.rules import ALL_RULES
    from initlint.runtime import codes

    page = anchors(ROOT / "docs" / "rules.md")
    everything = {r.code for r in ALL_RULES} | {c for c, _ in codes.CODES} | {c for c, _ in FILE_ERRORS}
    assert {e.code for e in catalog.entries()} == everything
    assert {code.lower() for code in everything} <= page


def test_a_newly_registered_rule_appears_without_other_changes(monkeypatch):
    import initlint.rules as registry
    from initlint.rule import Rule

    class Fresh(Rule):
        """
        ## What it does
        Flags something new.

        ## Why is this bad?
        Because.

        ## Example
        ```python
        # a comment, not a heading
        x = 1
        ```

        ## Use instead
        Something else.
        """

        code = "IL099"
        name = "fresh-rule"
        message = "{x}"

    monkeypatch.setattr(registry, "ALL_RULES", registry.ALL_RULES + (Fresh,))
    text = _generator().render()
    assert "\n### IL099\n" in text and "| [IL099](#il099) | fresh-rule |" in text
    assert "\n# a comment, not a heading\n" in text  # code blocks keep their lines
    assert "#### What it does" in text


def test_every_emitted_url_resolves(tmp_path, monkeypatch):
    urls = {entry.url for entry in catalog.entries()}
    monkeypatch.chdir(ROOT)
    for fmt in ("json", "sarif"):
        result = CliRunner().invoke(main, ["check", "--no-cache", "--format", fmt, "fixtures/"])
        data = json.loads(result.stdout)
        if fmt == "json":
            found = {d["url"] for d in data}
            assert None not in found
        else:
            driver = data["runs"][0]["tool"]["driver"]
            found = {r["helpUri"] for r in driver["rules"]}
        assert found
        urls |= found
    # a file error and a runtime finding, as the reporters see them
    broken = tmp_path / "broken.py"
    broken.write_bytes(b"\x00")
    data = json.loads(CliRunner().invoke(main, ["check", "--no-cache", "--format", "json", str(broken)]).stdout)
    assert data[0]["code"] == "IL902"
    urls.add(data[0]["url"])
    from initlint.runtime import codes

    urls |= {codes.url(code) for code, _ in codes.CODES}
    # the language server's code descriptions
    lsprotocol = pytest.importorskip("lsprotocol.types")
    from initlint.lsp import Positions, lint_text, to_lsp

    text = (FIXTURES / "IL004_lenet_seed004.py").read_text(encoding="utf-8")
    lsp = [to_lsp(lsprotocol, d, Positions(text)) for d in lint_text(text, str(FIXTURES / "IL004_lenet_seed004.py"))]
    assert lsp and all(d.code_description is not None for d in lsp)
    urls |= {d.code_description.href for d in lsp}
    unresolved = sorted(url for url in urls if not resolves(url))
    assert not unresolved
    assert {url.rsplit("#", 1)[1] for url in urls} >= {"il001", "il004", "il101", "il901", "il904"}


def test_slug_matches_githubs():
    assert slug("IL001") == "il001"
    assert slug("Runtime codes (IL1xx): measured by initlint runtime and --runtime") == "runtime-codes-il1xx-measured-by-initlint-runtime-and---runtime"
    assert slug("Why is this bad?") == "why-is-this-bad"
