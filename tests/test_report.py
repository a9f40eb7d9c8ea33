"""The output formats, checked by parsing what they produce rather than by comparing snapshots."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Dict, List

import pytest

from initlint.config import Settings, all_codes
from initlint.diagnostic import IO_ERROR, Applicability, Diagnostic, Edit, Fix, Location, Severity, docs_url, file_error
from initlint.report import FORMATS, render, summary
from initlint.report.github import escape_data, escape_property
from initlint.report.sarif import FINGERPRINT_KEY
from initlint.rule import Rule

# Vendored from the npm package @microsoft/jest-sarif 1.0.0-beta.0 (MIT, by the SARIF team):
# lib/schemas/sarif-2.1.0-rtm.5.json, the final SARIF 2.1.0 schema.
SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


class ConstantInit(Rule):
    """
    ## What it does
    Flags a weight initialised to one constant.

    ## Why is this bad?
    Identical units learn identical features.

    ## Example
    nn.init.constant_(w, 0.5)

    ## Use instead
    nn.init.kaiming_uniform_(w)
    """

    code = "IL001"
    name = "constant-weight-init"
    message = "{target} is constant"
    fix_title = "Use the default init"


class ZeroLayer(Rule):
    """
    ## What it does
    Flags a layer whose weight and bias are both zero.

    ## Why is this bad?
    No gradient reaches the layers before it.

    ## Example
    ...

    ## Use instead
    ...
    """

    code = "IL002"
    name = "dead-zero-layer"
    message = "{target} is dead"
    severity = Severity.WARNING


RULES = {rule.code: rule for rule in (ConstantInit, ZeroLayer)}


def diag(
    path: str = "pkg/model.py",
    row: int = 3,
    column: int = 5,
    end: tuple = (3, 9),
    code: str = "IL001",
    message: str = "self.w is constant",
    **kw: Any,
) -> Diagnostic:
    name = RULES[code].name if code in RULES else "x"
    return Diagnostic(
        code=code,
        name=name,
        message=message,
        path=path,
        location=Location(row, column),
        end_location=Location(*end),
        **kw,
    )


SAFE_FIX = Fix("Use the default init", (Edit(10, 14, "pass"),))


# --- dispatch --------------------------------------------------------------------------------


def test_formats_are_the_documented_five() -> None:
    assert FORMATS == ("concise", "full", "json", "github", "sarif")


def test_unknown_format_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        render([diag()], "xml")


@pytest.mark.parametrize("fmt", ["concise", "full", "github"])
def test_nothing_to_report_renders_empty(fmt: str) -> None:
    assert render([], fmt) == ""


def test_empty_json_is_an_empty_list() -> None:
    assert json.loads(render([], "json")) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_trailing_newline(fmt: str) -> None:
    # The CLI adds the one newline; a renderer adding its own would print a blank line.
    assert not render([diag()], fmt, rules=RULES).endswith("\n")


# --- concise ---------------------------------------------------------------------------------


def test_concise_is_exactly_path_line_col_code_message() -> None:
    out = render(
        [diag(), diag(path="b.py", row=10, column=1, end=(10, 2), code="IL002", message="m: 1")], "concise"
    )
    assert out.split("\n") == ["pkg/model.py:3:5: IL001 self.w is constant", "b.py:10:1: IL002 m: 1"]


def test_concise_notebook_cell_position() -> None:
    assert (
        render([diag(path="nb.ipynb", cell=4)], "concise") == "nb.ipynb:cell 4:3:5: IL001 self.w is constant"
    )


def test_concise_marks_fixable_puts_notes_in_brackets_and_stays_one_line() -> None:
    out = render([diag(message="two\nlines", notes=("confirmed at runtime", "seed\n0"), fix=SAFE_FIX)], "concise")
    assert out == "pkg/model.py:3:5: IL001 [*] two lines [confirmed at runtime; seed 0]"


def test_fix_marker_follows_what_fix_would_apply() -> None:
    unsafe = diag(fix=Fix("t", (Edit(0, 1, ""),), Applicability.UNSAFE))
    shown = diag(fix=Fix("t", (Edit(0, 1, ""),), Applicability.DISPLAY_ONLY))
    assert "[*]" not in render([unsafe, shown], "concise")
    assert render([unsafe], "concise", unsafe_fixes=True) == "pkg/model.py:3:5: IL001 [*] self.w is constant"
    assert "[*]" not in render([shown], "concise", unsafe_fixes=True)


def test_colour_only_when_asked_and_same_text_without_escapes() -> None:
    plain = render([diag(fix=SAFE_FIX)], "concise")
    coloured = render([diag(fix=SAFE_FIX)], "concise", color=True)
    assert "\x1b[" not in plain and "\x1b[" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


# --- full ------------------------------------------------------------------------------------

SOURCE = "import torch\n\nclass M:\n    w = nn.init.constant_(x, 1)\n"


def _caret_span(out: str, source_line: str) -> tuple:
    """(first caret column, caret count), 0-based, measured in the excerpt's text column."""
    lines = out.split("\n")
    code_line = next(line for line in lines if line.endswith(source_line))
    caret_line = lines[lines.index(code_line) + 1]
    offset = len(code_line) - len(source_line)  # where source text starts after the gutter
    carets = re.search(r"\^+", caret_line)
    assert carets is not None, out
    return carets.start() - offset, len(carets.group())


def test_full_puts_the_caret_under_the_span() -> None:
    d = diag(
        path="m.py", row=4, column=9, end=(4, 26), message="w is constant", fix_title="Use the default init"
    )
    out = render([d], "full", sources={"m.py": SOURCE})
    assert out.split("\n")[0] == "m.py:4:9: IL001 w is constant"
    assert "4 |     w = nn.init.constant_(x, 1)" in out
    start, width = _caret_span(out, "    w = nn.init.constant_(x, 1)")
    assert (start, width) == (8, len("nn.init.constant_"))
    assert "  = help: Use the default init" in out


def test_full_caret_accounts_for_tabs_and_wide_characters() -> None:
    source = "\tx = '漢字' + y\n"
    # column 11 is `+` (characters: \t x space = space ' 漢 字 ' space +)
    d = diag(path="t.py", row=1, column=11, end=(1, 12))
    out = render([d], "full", sources={"t.py": source})
    shown = "    x = '漢字' + y"
    start, width = _caret_span(out, shown)
    # Display columns: 4 for the tab, then `x = '` (5), two wide characters (4), `' ` (2).
    assert (start, width) == (4 + 5 + 4 + 2, 1)


def test_full_empty_span_still_gets_one_caret_and_multiline_spans_show_following_lines() -> None:
    source = "a = f(\n    1,\n    2)\n"
    out = render([diag(path="s.py", row=1, column=5, end=(3, 7))], "full", sources={"s.py": source})
    assert _caret_span(out, "a = f(") == (4, 2)  # to the end of the first line
    assert "2 |     1," in out and "3 |     2)" in out
    empty = render([diag(path="s.py", row=2, column=5, end=(2, 5))], "full", sources={"s.py": source})
    assert _caret_span(empty, "    1,") == (4, 1)


def test_full_without_source_prints_header_help_and_notes() -> None:
    d = diag(fix=SAFE_FIX, notes=("confirmed at runtime", "seed 0"))
    out = render([d], "full")
    assert out.split("\n") == [
        "pkg/model.py:3:5: IL001 [*] self.w is constant",
        "  = help: Use the default init",
        "  = note: confirmed at runtime",
        "  = note: seed 0",
    ]


def test_full_separates_diagnostics_with_a_blank_line_and_skips_stale_rows() -> None:
    out = render(
        [diag(path="m.py", row=99, end=(99, 9)), diag(path="m.py", row=4, end=(4, 9))],
        "full",
        sources={"m.py": SOURCE},
    )
    first, second = out.split("\n\n")
    assert "|" not in first  # row 99 is past the end of the file: no excerpt
    assert "4 |" in second


def test_full_notebook_cells_get_no_excerpt_from_the_notebook_json() -> None:
    out = render(
        [diag(path="nb.ipynb", cell=2, row=1, end=(1, 3))], "full", sources={"nb.ipynb": '{"cells": []}'}
    )
    assert out == "nb.ipynb:cell 2:1:5: IL001 self.w is constant"


# --- json ------------------------------------------------------------------------------------


def test_json_fields() -> None:
    diagnostics = [
        diag(
            fix=Fix("Use the default init", (Edit(10, 14, "pass"),), Applicability.UNSAFE),
            fix_title="Use the default init",
        ),
        diag(
            path="nb.ipynb",
            cell=3,
            code="IL002",
            severity=Severity.WARNING,
            notes=("n1",),
            url="https://x/il002",
        ),
        file_error(IO_ERROR, "gone.py", "cannot read"),
    ]
    data = json.loads(render(diagnostics, "json", rules=RULES))
    assert [item["code"] for item in data] == ["IL001", "IL002", "IL902"]
    first, second, third = data
    assert first["name"] == "constant-weight-init"
    assert first["message"] == "self.w is constant"
    assert first["filename"] == "pkg/model.py"
    assert first["location"] == {"row": 3, "column": 5}
    assert first["end_location"] == {"row": 3, "column": 9}
    assert first["severity"] == "error"
    assert first["cell"] is None and first["notes"] == []
    assert first["fix_title"] == "Use the default init"
    assert first["fix"] == {
        "applicability": "unsafe",
        "message": "Use the default init",
        "edits": [{"start": 10, "end": 14, "content": "pass"}],
    }
    assert first["url"] == ConstantInit.url()  # from the rule when the diagnostic has none
    assert second["cell"] == 3 and second["severity"] == "warning" and second["notes"] == ["n1"]
    assert second["url"] == "https://x/il002"  # the diagnostic's own url wins
    assert second["fix"] is None
    assert third["url"] == docs_url("IL902")  # file errors are documented too


# --- github ----------------------------------------------------------------------------------

COMMAND = re.compile(r"^::(?P<kind>error|warning) (?P<props>[^:]*)::(?P<data>.*)$")


def _parse_command(line: str) -> Dict[str, Any]:
    match = COMMAND.match(line)
    assert match, line
    props = dict(item.split("=", 1) for item in match.group("props").split(","))
    return {"kind": match.group("kind"), "props": props, "data": match.group("data")}


def _unescape(text: str) -> str:
    # The runner's order: the escaped delimiters first, `%25` last.
    for escaped, plain in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, plain)
    return text


def test_github_command_fields() -> None:
    out = render([diag(end=(4, 2)), diag(code="IL002", severity=Severity.WARNING)], "github")
    first, second = (_parse_command(line) for line in out.split("\n"))
    assert first["kind"] == "error" and second["kind"] == "warning"
    assert first["props"] == {
        "file": "pkg/model.py",
        "line": "3",
        "col": "5",
        "endLine": "4",
        "endColumn": "2",
        "title": "initlint (IL001)",
    }
    assert first["data"] == "IL001 self.w is constant"


def test_github_escaping() -> None:
    assert escape_data("50% a\r\nb: c, d") == "50%25 a%0D%0Ab: c, d"
    assert escape_property("C:\\a,b%\n") == "C%3A\\a%2Cb%25%0A"
    d = diag(path="we,ird:dir/100%.py", message="rate 5%\nthen: a, b")
    parsed = _parse_command(render([d], "github"))
    assert parsed["props"]["file"] == "we%2Cird%3Adir/100%25.py"
    assert _unescape(parsed["props"]["file"]) == "we,ird:dir/100%.py"
    assert parsed["data"] == "IL001 rate 5%25%0Athen: a, b"
    assert _unescape(parsed["data"]) == "IL001 rate 5%\nthen: a, b"


def test_github_notebook_cell_has_no_line_property() -> None:
    parsed = _parse_command(render([diag(path="nb.ipynb", cell=2)], "github"))
    assert "line" not in parsed["props"] and parsed["props"]["file"] == "nb.ipynb"
    assert "cell 2" in parsed["data"]


def test_github_relativises_absolute_paths_under_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    inside = str(tmp_path / "src" / "m.py")
    parsed = _parse_command(render([diag(path=inside)], "github"))
    assert parsed["props"]["file"] == os.path.join("src", "m.py")


# --- sarif -----------------------------------------------------------------------------------


def _sarif(diagnostics: List[Diagnostic], **kw: Any) -> Dict[str, Any]:
    log = json.loads(render(diagnostics, "sarif", rules=RULES, version="9.9.9", **kw))
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(log)
    return log


def _fingerprints(log: Dict[str, Any]) -> List[str]:
    return [r["partialFingerprints"][FINGERPRINT_KEY] for r in log["runs"][0]["results"]]


def test_sarif_schema_file_is_the_real_one() -> None:
    # Guards against validating against a stub: the vendored schema must describe runs and results.
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    assert "2.1.0" in schema["title"] and {"run", "result", "region"} <= set(schema["definitions"])


def test_sarif_empty_log_is_valid() -> None:
    log = _sarif([])
    assert log["version"] == "2.1.0"
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    (run,) = log["runs"]
    assert run["results"] == [] and run["tool"]["driver"]["rules"] == []


def test_sarif_rules_one_per_reported_code_and_consistent_indices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    diagnostics = [
        diag(path="a.py", code="IL002", severity=Severity.WARNING),
        diag(path="a.py", row=7, end=(7, 9)),
        diag(path="b.py", code="IL002", severity=Severity.WARNING),
        file_error(IO_ERROR, "c.py", "cannot read"),
    ]
    log = _sarif(diagnostics)
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert (
        driver["name"] == "initlint"
        and driver["version"] == "9.9.9"
        and driver["informationUri"].startswith("https://")
    )
    rules = driver["rules"]
    assert [r["id"] for r in rules] == ["IL001", "IL002", "IL902"]  # IL003.. were not reported
    il001, il002, il902 = rules
    assert il001["name"] == "constant-weight-init"
    assert il001["shortDescription"]["text"] == ConstantInit.summary()
    assert "Identical units" in il001["fullDescription"]["text"]
    assert il001["help"]["markdown"] == ConstantInit.docs() and il001["help"]["text"] == ConstantInit.docs()
    assert il001["helpUri"] == ConstantInit.url()
    assert il001["defaultConfiguration"]["level"] == "error"
    assert il002["defaultConfiguration"]["level"] == "warning"
    assert il902["name"] == "io-error"
    results = run["results"]
    assert len(results) == 4
    for result, d in zip(results, diagnostics):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == d.code
        assert result["message"]["text"] == d.message
        assert result["level"] == ("warning" if d.severity == Severity.WARNING else "error")
        region = result["locations"][0]["physicalLocation"]["region"]
        assert (region["startLine"], region["startColumn"]) == (d.location.row, d.location.column)
        assert (region["endLine"], region["endColumn"]) == (d.end_location.row, d.end_location.column)


def test_sarif_uris_are_relative_and_encoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    outside = tmp_path.parent / "elsewhere" / "x.py"
    diagnostics = [
        diag(path="pkg/model.py"),
        diag(path=str(tmp_path / "my dir" / "a#b%.py")),
        diag(path="./pkg/../other.py"),
        diag(path=str(outside)),
    ]
    log = _sarif(diagnostics)
    run = log["runs"][0]
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert locations[:3] == [
        {"uri": "pkg/model.py", "uriBaseId": "%SRCROOT%"},
        {"uri": "my%20dir/a%23b%25.py", "uriBaseId": "%SRCROOT%"},
        {"uri": "other.py", "uriBaseId": "%SRCROOT%"},
    ]
    # Outside the root there is nothing to be relative to: an absolute file URI, no base.
    assert locations[3] == {"uri": outside.as_uri()}
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == tmp_path.as_uri() + "/"


def test_sarif_fingerprint_survives_the_finding_moving_down() -> None:
    before = "import torch\nw = constant(1)\n"
    after = "import torch\n\n# a comment\nw = constant(1)\n"
    first = _sarif([diag(path="m.py", row=2, column=5, end=(2, 13))], sources={"m.py": before})
    moved = _sarif([diag(path="m.py", row=4, column=5, end=(4, 13))], sources={"m.py": after})
    assert _fingerprints(first) == _fingerprints(moved)
    # ... and re-indenting the line does not change it either.
    indented = _sarif(
        [diag(path="m.py", row=2, column=9, end=(2, 17))], sources={"m.py": "if x:\n    w = constant(1)\n"}
    )
    assert _fingerprints(indented) == _fingerprints(first)


def test_sarif_fingerprints_differ_for_different_lines_codes_files_and_repeats() -> None:
    source = "a = constant(1)\nb = constant(1)\na = constant(1)\n"
    diagnostics = [
        diag(path="m.py", row=1, end=(1, 9)),
        diag(path="m.py", row=2, end=(2, 9)),
        diag(path="m.py", row=3, end=(3, 9)),  # same text as row 1: told apart by occurrence
        diag(path="m.py", row=1, end=(1, 9), code="IL002"),
        diag(path="n.py", row=1, end=(1, 9)),
    ]
    prints = _fingerprints(_sarif(diagnostics, sources={"m.py": source, "n.py": source}))
    assert len(set(prints)) == len(prints)
    assert all(re.fullmatch(r"[0-9a-f]{64}", p) for p in prints)


def test_sarif_notebook_cell_notes_and_fix() -> None:
    diagnostics = [diag(path="nb.ipynb", cell=5, notes=("confirmed",), fix=SAFE_FIX), diag(fix=SAFE_FIX)]
    cell_result, plain = _sarif(diagnostics)["runs"][0]["results"]
    assert cell_result["properties"] == {
        "cell": 5, "cellLine": 3, "cellColumn": 5, "cellEndLine": 3, "cellEndColumn": 9, "notes": ["confirmed"],
    }
    # Without the notebook's text the row cannot be placed in the JSON: the file's first line.
    assert cell_result["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}
    assert cell_result["locations"][0]["logicalLocations"][0]["name"] == "cell 5"
    assert cell_result["message"]["text"].endswith(" (cell 5, line 3, column 5)")
    assert "fixes" not in cell_result  # edit offsets do not index the .ipynb JSON
    assert "properties" not in plain
    (fix,) = plain["fixes"]
    assert fix["description"]["text"] == SAFE_FIX.title
    (change,) = fix["artifactChanges"]
    (replacement,) = change["replacements"]
    assert replacement["deletedRegion"] == {"charOffset": 10, "charLength": 4}
    assert replacement["insertedContent"] == {"text": "pass"}


# --- summary ---------------------------------------------------------------------------------


def test_summary_all_clear() -> None:
    assert summary([]) == "All checks passed!"


def test_summary_counts_problems_files_and_safe_fixes() -> None:
    unsafe = Fix("t", (Edit(0, 1, ""),), Applicability.UNSAFE)
    diagnostics = [
        diag(fix=SAFE_FIX),
        diag(path="b.py", fix=unsafe),
        diag(path="b.py", fix=SAFE_FIX),
        diag(path="b.py"),
    ]
    assert summary(diagnostics).split("\n") == [
        "Found 4 problems in 2 files.",
        "[*] 2 fixable with --fix.",
        "(1 hidden fix can be enabled with the `--unsafe-fixes` option.)",
    ]
    assert summary(diagnostics, unsafe_fixes=True).split("\n") == ["Found 4 problems in 2 files.", "[*] 3 fixable with --fix --unsafe-fixes."]
    assert summary([diag()]) == "Found 1 problem in 1 file."


def test_summary_reports_what_was_fixed() -> None:
    assert summary([], fixed=3).split("\n") == ["Fixed 3 problems.", "All checks passed!"]
    assert summary([diag()], fixed=1).split("\n") == ["Fixed 1 problem.", "Found 1 problem in 1 file."]


# --- notebooks in sarif and github: the line of the .ipynb file that holds the flagged row -------

SEEDS_NOTEBOOK = Path(__file__).resolve().parent.parent / "fixtures" / "notebooks" / "seeds.ipynb"
NOTEBOOK_SITES = ("weights_1 = torch.full", "net_zero_layer.fc1.weight.data", "param.data = torch.zeros_like", "param.data = torch.ones_like")


def _notebook_findings():
    from initlint.notebook import lint_notebook

    settings = Settings(select=all_codes(), no_cache=True)
    result = lint_notebook("nb.ipynb", SEEDS_NOTEBOOK.read_bytes(), settings)
    assert result.source is not None  # the JSON text travels with the findings, for the reporters
    return list(result.diagnostics), {"nb.ipynb": result.source}


def test_sarif_notebook_regions_are_lines_of_the_notebook_file() -> None:
    diagnostics, sources = _notebook_findings()
    lines = sources["nb.ipynb"].split("\n")
    results = _sarif(diagnostics, sources=sources)["runs"][0]["results"]
    assert len(results) == 4
    for result, site, d in zip(results, NOTEBOOK_SITES, diagnostics):
        region = result["locations"][0]["physicalLocation"]["region"]
        assert set(region) == {"startLine"}  # columns would be the JSON's, not the code's
        assert site in lines[region["startLine"] - 1]
        assert result["locations"][0]["logicalLocations"] == [{"name": f"cell {d.cell}", "fullyQualifiedName": f"nb.ipynb:cell {d.cell}"}]
        assert result["properties"]["cellLine"] == d.location.row


def test_github_notebook_annotations_sit_on_the_notebook_line() -> None:
    diagnostics, sources = _notebook_findings()
    lines = sources["nb.ipynb"].split("\n")
    commands = [_parse_command(line) for line in render(diagnostics, "github", sources=sources).split("\n")]
    for command, site, d in zip(commands, NOTEBOOK_SITES, diagnostics):
        assert "col" not in command["props"]
        assert site in lines[int(command["props"]["line"]) - 1]
        assert command["data"].endswith(f"(cell {d.cell}, line {d.location.row}, column {d.location.column})")
