"""Jupyter notebooks: cell positions, IPython syntax, cross-cell facts, bad notebooks, --fix that
rewrites only the changed cell, and the pre-commit hook on a notebook.

`INITLINT_UPDATE_SNAPSHOTS=1` rewrites fixtures/notebooks/*.expected and *.ipynb.fixed.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import BAD_SCRIPT, FIXTURES, ROOT, UPDATE, settings
from initlint import notebook
from initlint.cli import main
from initlint.engine import lint_file, lint_source
from initlint.files import discover

NOTEBOOKS = FIXTURES / "notebooks"
SEEDS = NOTEBOOKS / "seeds.ipynb"
LENET = NOTEBOOKS / "lenet.ipynb"
POSITION = re.compile(r"^(?P<path>[^:]+):cell (?P<cell>\d+):(?P<row>\d+):(?P<col>\d+): (?P<code>IL\d{3}) ")


def _cli(*args: str, cwd: Path = ROOT):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, ["check", "--no-cache", *args])
    finally:
        os.chdir(old)


def _positions(output: str):
    return [(m["cell"], m["row"], m["col"], m["code"]) for m in map(POSITION.match, output.splitlines()) if m]


def _nb(*cells, language: str = "python") -> str:
    raw = [
        {"cell_type": kind, "metadata": {}, "source": source, **({"outputs": [], "execution_count": None} if kind == "code" else {})}
        for kind, source in cells
    ]
    meta = {"language_info": {"name": language}}
    return json.dumps({"cells": raw, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


BAD = BAD_SCRIPT  # (its finding at line 3)


# ---- the seed notebook through the CLI -----------------------------------------------------------


@pytest.mark.parametrize("name", ["seeds", "lenet"])
def test_snapshot(name):
    result = _cli("-q", f"fixtures/notebooks/{name}.ipynb")
    # Snapshots hold codes, positions and messages; the `[*]` fix marker is the report's (tested there).
    output = result.output.replace(" [*] ", " ")
    expected = NOTEBOOKS / f"{name}.expected"
    if UPDATE:
        expected.write_text(output)
    assert output == expected.read_text()


def test_seed_findings_have_cell_positions():
    """Seed 000 in cells 2-3, seed 001 in cells 5, 6 and 9 (markdown and raw cells count too)."""
    result = _cli("-q", "fixtures/notebooks/seeds.ipynb")
    assert result.exit_code == 1
    assert _positions(result.output) == [
        ("3", "4", "1", "IL001"),  # weights_1 = torch.full(..., 1.0)
        ("6", "5", "5", "IL002"),  # the class is in cell 5, the zeroing in cell 6
        ("9", "3", "9", "IL003"),
        ("9", "8", "9", "IL003"),
    ]
    assert all(line.startswith("fixtures/notebooks/seeds.ipynb:cell ") for line in result.output.splitlines())


def test_cell_rows_point_at_the_code():
    data = json.loads(SEEDS.read_text(encoding="utf-8"))
    for cell, row, col, _ in _positions(_cli("-q", str(SEEDS.relative_to(ROOT))).output):
        lines = "".join(data["cells"][int(cell) - 1]["source"]).splitlines()
        assert lines[int(row) - 1][int(col) - 1:].startswith(("weights_1", "net_zero_layer", "param.data"))


def test_json_and_sarif_carry_the_cell():
    rows = json.loads(_cli("--format", "json", "fixtures/notebooks/seeds.ipynb").output)
    assert [(r["cell"], r["code"]) for r in rows] == [(3, "IL001"), (6, "IL002"), (9, "IL003"), (9, "IL003")]
    sarif = json.loads(_cli("--format", "sarif", "fixtures/notebooks/seeds.ipynb").output)
    assert [r["properties"]["cell"] for r in sarif["runs"][0]["results"]] == [3, 6, 9, 9]


def test_discovered_in_folders(tmp_path):
    (tmp_path / "a.ipynb").write_text(_nb(("code", BAD)))
    (tmp_path / "b.py").write_text(BAD)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb").write_text(_nb(("code", BAD)))
    found = discover([str(tmp_path)], settings(root=str(tmp_path)))
    assert [Path(f).name for f in found.files] == ["a.ipynb", "b.py"]


# ---- IPython syntax ------------------------------------------------------------------------------


def test_magics_shell_and_help_lines_keep_rows():
    source = (
        "%matplotlib inline\n"
        "!pip install torch\n"
        "files = !ls\n"
        "t = %timeit -o 1 + 1\n"
        "nn.Linear?\n"
        "??nn.init\n"
        "for i in range(2):\n"
        "    !echo {i}\n"
        "x = a % b\n"
        "y = 'what?'\n"
    )
    code = notebook.python_code(source)
    assert code.splitlines() == [
        "pass", "pass", "pass", "pass", "pass", "pass", "for i in range(2):", "    pass", "x = a % b", "y = 'what?'",
    ]


def test_operators_that_start_continuation_lines_are_python():
    """black breaks before binary operators: `% args` and `!= b` can start a line of Python."""
    source = (
        "if (\n"
        "    a\n"
        "    != b\n"
        "):\n"
        "    msg = (\n"
        "        'x %s'\n"
        "        % a\n"
        "    )\n"
        's = """\n'
        "%not a magic\n"
        '"""\n'
        "t = 1 + \\\n"
        "    2\n"
        "%time f()  # a magic again\n"
    )
    code = notebook.python_code(source)
    assert code.splitlines()[:-1] == source.splitlines()[:-1]
    assert code.splitlines()[-1] == "pass"
    ast.parse(code)


@pytest.mark.parametrize("magic", ["%%bash", "%%writefile model.py", "%%html", "%%sh"])
def test_non_python_cell_magics_skip_the_cell(magic):
    assert notebook.python_code(f"{magic}\n{BAD}") == ""
    text = _nb(("code", f"{magic}\n{BAD}"), ("code", "x = 1\n"))
    assert notebook.lint_notebook_text(text, "n.ipynb", settings()) == []


def test_python_cell_magics_are_linted():
    text = _nb(("markdown", "# t"), ("code", f"%%time\n{BAD}"))
    [d] = notebook.lint_notebook_text(text, "n.ipynb", settings())
    assert (d.code, d.cell, d.location.row, d.location.column) == ("IL001", 2, 4, 1)


def test_markdown_and_raw_cells_are_not_linted():
    text = _nb(("markdown", BAD), ("raw", BAD), ("code", "x = 1\n"))
    assert notebook.lint_notebook_text(text, "n.ipynb", settings()) == []


def test_other_kernels_are_not_linted():
    assert notebook.lint_notebook_text(_nb(("code", BAD), language="R"), "n.ipynb", settings()) == []


def test_string_and_list_sources_and_cells_without_final_newline():
    text = _nb(("code", "import torch"), ("code", ["W2 = torch.ones(8, 1, requires_grad=True)\n", "W1 = torch.ones(4, 8, requires_grad=True); y = (torch.randn(2, 4) @ W1).relu() @ W2"]))
    [d] = notebook.lint_notebook_text(text, "n.ipynb", settings())
    assert (d.cell, d.location.row) == (2, 2)


def test_a_syntax_error_names_its_cell():
    cell = "import torch.nn as nn\ndef f(:\n    nn.init.constant_(w, 1)\n"
    [d] = notebook.lint_notebook_text(_nb(("code", "x = 1\n"), ("code", cell)), "n.ipynb", settings())
    [plain] = lint_source(cell, "c.py", settings())
    assert (d.code, d.cell, d.location) == ("IL901", 2, plain.location)


# ---- files that are not notebooks ----------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b'{"cells": [', b"[1, 2]", b'{"cells": 3}', b'{"cells": [1]}', b'{"cells": [{"cell_type": "code", "source": 3}]}', b"\xff\xfe", b""],
)
def test_not_a_notebook_is_il902(tmp_path, content):
    path = tmp_path / "x.ipynb"
    path.write_bytes(content)
    result = lint_file(str(path), settings())
    assert [d.code for d in result.diagnostics] == ["IL902"]


def test_broken_fixtures_through_the_cli():
    result = _cli("-q", "fixtures/notebooks/broken.ipynb", "fixtures/notebooks/not_a_notebook.ipynb")
    assert result.exit_code == 1, result.output
    assert [line.split(": ")[1].split()[0] for line in result.output.splitlines()] == ["IL902", "IL902"]


# ---- --fix ---------------------------------------------------------------------------------------


def test_fix_rewrites_only_the_changed_cell(tmp_path):
    target = tmp_path / "lenet.ipynb"
    shutil.copyfile(LENET, target)
    before = LENET.read_bytes()
    result = _cli("--fix", "lenet.ipynb", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    after = target.read_bytes()
    snapshot = NOTEBOOKS / "lenet.ipynb.fixed"
    if UPDATE:
        snapshot.write_bytes(after)
    assert after == snapshot.read_bytes()
    old, new = json.loads(before), json.loads(after)
    # Outside cell 3's source, the notebook is the same, and so are the bytes around that value.
    changed = [i for i, (a, b) in enumerate(zip(old["cells"], new["cells"])) if a != b]
    assert changed == [2]
    assert {k: v for k, v in old["cells"][2].items() if k != "source"} == {k: v for k, v in new["cells"][2].items() if k != "source"}
    assert old["metadata"] == new["metadata"]
    start, end = notebook.source_spans(before.decode())[2]
    new_start, new_end = notebook.source_spans(after.decode())[2]
    assert before[:start] == after[:new_start] and before.decode()[end:] == after.decode()[new_end:]
    # The call now follows fc3 in the cell.
    lines = "".join(new["cells"][2]["source"]).splitlines()
    fc3 = next(i for i, line in enumerate(lines) if "self.fc3 =" in line)
    call = next(i for i, line in enumerate(lines) if "self._initialize_weights()" in line)
    assert call > fc3
    assert _cli("lenet.ipynb", cwd=tmp_path).exit_code == 0


def test_reported_fix_edits_are_offsets_into_the_cell():
    [row] = json.loads(_cli("--format", "json", "fixtures/notebooks/lenet.ipynb").output)
    cells = [json.loads(p.read_text(encoding="utf-8"))["cells"] for p in (LENET, NOTEBOOKS / "lenet.ipynb.fixed")]
    text = "".join(cells[0][row["cell"] - 1]["source"])
    for edit in sorted(row["fix"]["edits"], key=lambda e: e["start"], reverse=True):
        text = text[: edit["start"]] + edit["content"] + text[edit["end"]:]
    assert text == "".join(cells[1][row["cell"] - 1]["source"])


def test_diff_on_a_notebook_writes_nothing(tmp_path):
    target = tmp_path / "lenet.ipynb"
    shutil.copyfile(LENET, target)
    result = _cli("--diff", "lenet.ipynb", cwd=tmp_path)
    assert result.exit_code == 1
    assert "+++ b/lenet.ipynb" in result.output and '+    "        if init_weights:\\n",' in result.output
    assert target.read_bytes() == LENET.read_bytes()


def _lenet_cell() -> str:
    cells = json.loads(LENET.read_text(encoding="utf-8"))["cells"]
    return "import torch.nn as nn\n" + "".join(cells[2]["source"])


@pytest.mark.parametrize("layout", ["string", "list", "compact"])
def test_fix_keeps_the_notebook_layout(tmp_path, layout):
    cell = _lenet_cell()
    source = cell if layout == "string" else cell.splitlines(True)
    data = {"cells": [{"cell_type": "code", "execution_count": 1, "metadata": {"tags": ["ü"]}, "outputs": [{"output_type": "stream", "name": "stdout", "text": ["é ✓\n"]}], "source": source}],
            "metadata": {"language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    text = json.dumps(data, indent=None if layout == "compact" else 2, ensure_ascii=layout != "list")
    path = tmp_path / "n.ipynb"
    path.write_text(text, encoding="utf-8")
    outcome = notebook.fix_file(str(path), settings(root=str(tmp_path)))
    assert outcome.fixed == 1 and outcome.written
    after = path.read_text(encoding="utf-8")
    start, end = notebook.source_spans(text)[0]
    new_start, new_end = notebook.source_spans(after)[0]
    assert text[:start] == after[:new_start] and text[end:] == after[new_end:]
    new = json.loads(after)
    assert new["cells"][0]["outputs"] == data["cells"][0]["outputs"]
    assert isinstance(new["cells"][0]["source"], type(source))
    if layout == "list":  # re-serialised in the notebook's own style: one line per element, same indent
        assert after[new_start:new_end].splitlines()[1].startswith("        \"")


def test_fixes_never_touch_magic_lines():
    cell = _lenet_cell().replace("        self.num_classes = num_classes\n", "        !echo hi\n")
    nb = notebook.parse(_nb(("code", cell)))
    assert "pass" in nb.virtual() and "!echo hi" in nb.cells[0].source
    fixed, count, remaining, _ = notebook.fix_notebook(nb, lambda t: lint_source(t, "n.ipynb", settings()))
    assert count == 1 and remaining == []
    assert "        !echo hi\n" in fixed.cells[0].source and fixed.cells[0].source.count("pass") == 0


def test_write_sources_round_trip_without_changes():
    text = LENET.read_text(encoding="utf-8")
    assert notebook.write_sources(text, {}) == text
    same = {i: "".join(c["source"]) for i, c in enumerate(json.loads(text)["cells"])}
    assert notebook.write_sources(text, same) == text


# ---- pre-commit ----------------------------------------------------------------------------------


def _snapshot_of_the_working_tree(target: Path, env: dict) -> Path:
    """The repo's tracked and not-ignored files, committed in a throwaway repo: `try-repo` on the
    real checkout would see only what is committed there, not the work in progress."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in listed.stdout.splitlines():
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    subprocess.run(["git", "init", "-q"], cwd=target, check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=target, check=True, env=env)
    subprocess.run(["git", "commit", "-q", "-m", "snapshot"], cwd=target, check=True, env=env)
    return target


@pytest.mark.slow
def test_pre_commit_hook_runs_on_notebooks(tmp_path):
    """`pre-commit try-repo` with the hook's `types_or: [python, jupyter]`, on a notebook."""
    exe = shutil.which("pre-commit", path=os.path.dirname(sys.executable)) or shutil.which("pre-commit")
    if exe is None:
        pytest.skip("pre-commit is not installed")
    env = dict(os.environ, PRE_COMMIT_HOME=str(tmp_path / "cache"), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    env.pop("PRE_COMMIT", None)
    (tmp_path / "initlint").mkdir()
    hook_repo = _snapshot_of_the_working_tree(tmp_path / "initlint", env)
    work = tmp_path / "work"
    work.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=work, check=True, env=env)
    shutil.copyfile(SEEDS, work / "nb.ipynb")
    (work / "notes.json").write_text("{}\n")
    subprocess.run(["git", "add", "."], cwd=work, check=True, env=env)
    cmd = [exe, "try-repo", str(hook_repo), "initlint", "--verbose", "--files", "nb.ipynb", "notes.json"]
    result = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    expected = [("3", "4", "1", "IL001"), ("6", "5", "5", "IL002"), ("9", "3", "9", "IL003"), ("9", "8", "9", "IL003")]
    assert _positions(output) == expected, output
    assert all(line.startswith("nb.ipynb:cell ") for line in output.splitlines() if re.search(r": IL\d{3} ", line))


def test_a_shell_line_continued_with_backslashes_is_skipped_whole():
    """`!python run.py \\` and its continuation lines are the shell's (seen in real notebooks)."""
    cell = "!python run.py --data_dir data \\\n                --max_len 510\nx = 1\n"
    code = notebook.python_code(cell)
    assert code.count("\n") == cell.count("\n") and "--max_len" not in code
    ast.parse(code)
    assert notebook.lint_notebook_text(_nb(("code", cell), ("code", BAD)), "n.ipynb", settings())[0].code == "IL001"
