"""The composite GitHub Action, offline: action.yml's shell steps run in bash on a sample repo, with
the inputs substituted the way the runner does. Most tests put initlint from this environment on
PATH and a stand-in `python` that records the pip install; one runs the real install step, from a
copy of this checkout as the Action's own folder (`github.action_path`) into a fresh virtualenv,
and then the run step with what it installed. The SARIF it writes is checked against the 2.1.0
schema."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from conftest import BAD_SCRIPT, FIXTURES, ROOT

yaml = pytest.importorskip("yaml", reason="PyYAML comes with pre-commit (pip install -e '.[test]')")
jsonschema = pytest.importorskip("jsonschema")

ACTION = ROOT / "action.yml"
SCHEMA = ROOT / "tests" / "data" / "sarif-schema-2.1.0.json"
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
BAD = BAD_SCRIPT


def _action() -> dict:
    return yaml.safe_load(ACTION.read_text())


# Where the runner checks the Action out (`github.action_path`) in the tests that fake the install.
ACTION_PATH = "/home/runner/work/_actions/initlint/initlint/0123abc"


def _evaluate(expr: str, inputs: Dict[str, str], outputs: Dict[str, Dict[str, str]], action_path: str = ACTION_PATH):
    """The subset of GitHub's expression language that action.yml uses."""
    names = {}

    def name(match: re.Match) -> str:
        parts = match.group(0).split(".")
        if parts[0] == "inputs":
            value = inputs[parts[1]]
        elif parts[0] == "steps":
            value = outputs.get(parts[1], {}).get(parts[3], "")
        elif parts == ["github", "action_path"]:
            value = action_path
        else:
            raise AssertionError(f"unsupported context in {expr!r}")
        key = f"_v{len(names)}"
        names[key] = value
        return key

    python = re.sub(r"\b(?:inputs|steps|github)(?:\.[\w-]+)+", name, expr)
    python = python.replace("&&", " and ").replace("||", " or ")
    return eval(python, {"__builtins__": {}}, names)  # noqa: S307 - our own action.yml, in a test


def _render(text: str, inputs, outputs, action_path: str = ACTION_PATH) -> str:
    return EXPR.sub(lambda m: str(_evaluate(m.group(1), inputs, outputs, action_path)), text)


def _inputs(**given: str) -> Dict[str, str]:
    declared = _action()["inputs"]
    unknown = set(given) - set(declared)
    assert not unknown, unknown
    return {key: given.get(key, str(spec.get("default", ""))) for key, spec in declared.items()}


def _fake_python(folder: Path) -> Path:
    """A `python` that records its arguments instead of installing anything."""
    folder.mkdir(exist_ok=True)
    script = folder / "python"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{folder / 'pip-args'}'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return folder


def run_action(workdir: Path, tmp: Path, python_bin: Optional[Path] = None, action_path: str = ACTION_PATH,
               **given: str) -> Tuple[List[Tuple[str, int, str]], List[str], Dict[str, Dict[str, str]]]:
    """Run the action's steps: ([(step name, exit status, output)], [actions `uses`d], step outputs).
    Stops at the first failing step, as the runner does. `python_bin`: a real environment's bin
    folder first on PATH (the install step then really installs), instead of the stand-in."""
    inputs = _inputs(**given)
    first = [str(python_bin)] if python_bin is not None else [str(_fake_python(tmp / "fakebin")), os.path.dirname(sys.executable)]
    env_path = os.pathsep.join([*first, os.environ.get("PATH", "")])
    ran, used, outputs = [], [], {}
    for index, step in enumerate(_action()["runs"]["steps"]):
        condition = step.get("if")
        if condition is not None and not _evaluate(condition, inputs, outputs):
            continue
        if "uses" in step:
            used.append(step["uses"])
            continue
        assert step["shell"] == "bash"
        github_output = tmp / f"output-{index}"
        github_output.write_text("")
        env = dict(os.environ, PATH=env_path, GITHUB_OUTPUT=str(github_output))
        env.update({key: _render(str(value), inputs, outputs, action_path) for key, value in step.get("env", {}).items()})
        script = _render(step["run"], inputs, outputs, action_path)
        # The runner's own bash command line for `shell: bash`.
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=300)
        ran.append((step.get("name", ""), done.returncode, done.stdout + done.stderr))
        if "id" in step:
            outputs[step["id"]] = dict(line.split("=", 1) for line in github_output.read_text().splitlines() if "=" in line)
        if done.returncode != 0:
            break
    return ran, used, outputs


@pytest.fixture
def repo(tmp_path) -> Path:
    work = tmp_path / "repo"
    (work / "src").mkdir(parents=True)
    (work / "src" / "bad.py").write_text(BAD)
    (work / "src" / "clean.py").write_text("import torch.nn as nn\nfc = nn.Linear(4, 8)\n")
    shutil.copyfile(FIXTURES / "notebooks" / "seeds.ipynb", work / "src" / "demo.ipynb")
    return work


def test_action_is_composite_with_the_documented_inputs():
    action = _action()
    assert action["runs"]["using"] == "composite"
    assert {"args", "format", "version", "sarif-file"} <= set(action["inputs"])
    assert action["inputs"]["args"]["default"] == "." and action["inputs"]["format"]["default"] == "github"
    for step in action["runs"]["steps"]:
        assert ("uses" in step) != ("run" in step)
        if "run" in step:  # inputs reach scripts through env, never pasted into the script text
            assert "${{" not in step["run"], step["name"]


def test_annotations_on_a_sample_repo(repo, tmp_path):
    ran, used, outputs = run_action(repo, tmp_path, args="src")
    assert used == ["actions/setup-python@v5"]
    (_, install, _), (name, status, output) = ran
    assert install == 0 and status == 1, output
    assert outputs["github"]["exit-code"] == "1"
    commands = [line for line in output.splitlines() if line.startswith("::")]
    assert "::error file=src/bad.py,line=3,col=1,endLine=3,endColumn=42,title=initlint (IL001)::IL001 " in "\n".join(commands)
    assert any(c.startswith("::error file=src/demo.ipynb,") and "(cell 3, line 4, column 1)" in c for c in commands)
    assert len(commands) == 5


def test_clean_repo_passes(repo, tmp_path):
    ran, _, outputs = run_action(repo, tmp_path, args="src/clean.py", **{"python-version": ""})
    assert [status for _, status, _ in ran] == [0, 0]
    assert outputs["github"]["exit-code"] == "0"


def test_sarif_is_valid_and_uploaded(repo, tmp_path):
    ran, used, outputs = run_action(repo, tmp_path, args="src --select IL001", format="sarif", **{"sarif-file": "out/initlint.sarif"})
    assert [status for _, status, _ in ran] == [0, 0], ran
    assert used == ["actions/setup-python@v5", "github/codeql-action/upload-sarif@v3"]
    assert outputs["sarif"]["exit-code"] == "1"
    log = json.loads((repo / "out" / "initlint.sarif").read_text())
    jsonschema.validate(log, json.loads(SCHEMA.read_text()))
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"IL001"}
    uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results)
    assert uris == ["src/bad.py", "src/demo.ipynb"]
    upload = next(s for s in _action()["runs"]["steps"] if s.get("uses", "").startswith("github/codeql-action/upload-sarif"))
    assert _render(upload["with"]["sarif_file"], _inputs(**{"sarif-file": "out/initlint.sarif"}), {}) == "out/initlint.sarif"


def test_sarif_can_fail_the_job_after_the_upload(repo, tmp_path):
    given = {"format": "sarif", "args": "src", "sarif-file": "out/x.sarif", "fail-on-findings": "true"}
    ran, used, _ = run_action(repo, tmp_path, **given)
    assert used[-1] == "github/codeql-action/upload-sarif@v3"
    assert ran[-1][0] == "Fail on findings" and ran[-1][1] == 1


@pytest.mark.parametrize(
    "version, requirement",
    [("", ACTION_PATH), ("0.1.0", "initlint==0.1.0"), ("initlint[runtime]==0.1.0", "initlint[runtime]==0.1.0")],
)
def test_install_command(repo, tmp_path, version, requirement):
    """By default the Action installs itself (its checkout); `version` switches to the index."""
    run_action(repo, tmp_path, args="src/clean.py", version=version)
    args = (tmp_path / "fakebin" / "pip-args").read_text().splitlines()
    assert args[:2] == ["-m", "pip"] and args[-1] == requirement


def _checkout_copy(target: Path) -> Path:
    """This checkout's files (tracked and untracked, not ignored) copied to `target`: what the
    runner fetches for `uses: owner/initlint@<sha>`."""
    try:
        listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                                check=True).stdout.decode().split("\0")
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.mark.slow
def test_the_real_install_and_run_steps_from_the_actions_own_checkout(repo, tmp_path):
    action = _checkout_copy(tmp_path / "action")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    ran, used, outputs = run_action(repo, tmp_path, python_bin=venv / "bin", action_path=str(action), args="src")
    (install, status, log), (_, run_status, output) = ran
    assert status == 0, log
    assert f"initlint {_version()}" in log.splitlines()  # the step prints what it installed
    assert (venv / "bin" / "initlint").exists()
    assert run_status == 1 and outputs["github"]["exit-code"] == "1", output
    commands = [line for line in output.splitlines() if line.startswith("::")]
    assert "::error file=src/bad.py,line=3,col=1,endLine=3,endColumn=42,title=initlint (IL001)::IL001 " in "\n".join(commands)
    assert any(c.startswith("::error file=src/demo.ipynb,line=") and "(cell 3, line 4, column 1)" in c for c in commands)


def _version() -> str:
    from initlint import __version__

    return __version__
