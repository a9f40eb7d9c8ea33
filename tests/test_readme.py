"""Every fenced block of README.md is exercised: shell and console blocks are run (in a sample
project, a fresh virtualenv or a clone, as the block needs), configuration is loaded and acted on,
snippets for other tools are run against stand-ins of those tools or the tool itself.

A block no check claims fails `test_every_block_is_exercised`: a new snippet needs a check here
(or in the integration test that takes it from the README: pre-commit, VS Code). The two set-up
commands are what `.ci/run` and `tests/fresh_clone.py` run on a fresh clone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

import pytest

import readme
from conftest import BAD_SCRIPT, FIXTURES, ROOT
from readme import SHA_PLACEHOLDER, Block

BAD = BAD_SCRIPT
BIN = Path(sys.executable).parent

# Which check exercises each block: (predicate, where). Blocks run elsewhere name that test.
CLAIMS: List[Dict[str, object]] = []


def claims(where: str) -> Callable[[Callable[[Block], bool]], Callable[[Block], bool]]:
    def register(predicate: Callable[[Block], bool]) -> Callable[[Block], bool]:
        CLAIMS.append({"predicate": predicate, "where": where})
        return predicate

    return register


def _claimed_by(block: Block) -> List[str]:
    return [str(c["where"]) for c in CLAIMS if c["predicate"](block)]  # type: ignore[operator]


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    env.update(extra)
    return env


def _toml(text: str) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return tomllib.loads(text)


def bash(command: str, cwd: Path, timeout: int = 600, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, env=_env(**env), capture_output=True, text=True, timeout=timeout)


def _head() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    """A project like the README's: src/ with findings (one fixable), notebooks/, a pyproject."""
    (tmp_path / "src").mkdir()
    shutil.copyfile(FIXTURES / "IL001_seed002_constinit.py", tmp_path / "src" / "model.py")
    shutil.copyfile(FIXTURES / "IL004_lenet_seed004.py", tmp_path / "src" / "lenet.py")
    (tmp_path / "notebooks").mkdir()
    shutil.copyfile(FIXTURES / "notebooks" / "seeds.ipynb", tmp_path / "notebooks" / "seeds.ipynb")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'sample'\n")
    return tmp_path


def test_every_block_is_exercised():
    blocks = readme.blocks()
    assert len(blocks) >= 20
    unclaimed = [str(b) for b in blocks if not _claimed_by(b)]
    assert not unclaimed, f"README blocks no test runs: {unclaimed}"
    twice = [(str(b), _claimed_by(b)) for b in blocks if len(_claimed_by(b)) > 1]
    assert not twice, twice
    for claim in CLAIMS:  # and no check is left without its block
        assert any(claim["predicate"](b) for b in blocks), claim["where"]  # type: ignore[operator]


def test_no_snippet_names_a_release_that_does_not_exist():
    from initlint import __version__

    text = readme.README.read_text(encoding="utf-8")
    tags = subprocess.run(["git", "tag"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    for match in re.finditer(r"(?:@|rev: )(v?\d+\.\d+\.\d+)", text):
        assert match.group(1) in tags, f"{match.group(0)}: no such release (tag) yet"
    assert "pip install initlint\n" not in text and f"initlint=={__version__}" not in text


# ---- the intro and the set-up ----------------------------------------------------------------


@claims("test_intro_example")
def _intro(block: Block) -> bool:
    return block.language == "console" and block.section == "initlint"


def test_intro_example(sample):
    block = readme.only(_intro)
    (sample / "src" / "lenet.py").unlink()
    [command] = block.commands()
    done = bash(command, sample)
    assert done.returncode == 1
    assert (done.stdout + done.stderr).splitlines() == block.output()


@claims("test_first_setup_command_on_a_fresh_clone")
def _setup_run(block: Block) -> bool:
    return block.section.startswith("Set-up") and "pip install -e . &&" in block.text


@claims(".ci/run (test_ci_runs_the_readme_test_command) and tests/fresh_clone.py")
def _setup_test(block: Block) -> bool:
    return block.section.startswith("Set-up") and '".[test]"' in block.text


def _clone(target: Path) -> Path:
    head = _head()
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(target)], check=True, timeout=300)
    subprocess.run(["git", "checkout", "-q", head], cwd=target, check=True, timeout=300)
    return target


@pytest.mark.slow
def test_first_setup_command_on_a_fresh_clone(tmp_path):
    clone = _clone(tmp_path / "initlint")
    [command] = readme.only(_setup_run).commands()
    done = bash(command, clone)
    assert done.returncode == 1, done.stdout + done.stderr  # the example has findings
    assert "fixtures/IL001_seed002_constinit.py:24:9: IL001 " in done.stdout


def test_ci_runs_the_readme_test_command():
    [command] = readme.only(_setup_test).commands()
    assert command in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


@claims("test_cpu_torch_command")
def _torch_cpu(block: Block) -> bool:
    return "TORCH_CPU_INDEX" in block.text


def _local_cpu_index(tmp_path: Path) -> Path:
    """A package index like PyTorch's CPU one, from this machine's local wheels (skip without)."""
    wheels = sorted(Path("/opt/wheels").glob("torch-2.13.0+cpu-*.whl")) if Path("/opt/wheels").is_dir() else []
    simple = Path("/opt/pypi/simple")
    if not wheels or not simple.is_dir():
        pytest.skip("no local CPU torch wheel and index on this machine")
    index = tmp_path / "index"
    (index / "simple" / "torch").mkdir(parents=True)
    os.symlink(simple.parent / "files", index / "files")
    for project in simple.iterdir():
        if project.name != "torch":
            os.symlink(project, index / "simple" / project.name)
    links = "".join(f'<a href="{w.as_uri()}">{w.name}</a>\n' for w in wheels)
    (index / "simple" / "torch" / "index.html").write_text(f"<html><body>\n{links}</body></html>\n")
    return index / "simple"


@pytest.mark.slow
def test_cpu_torch_command(tmp_path):
    [command] = readme.only(_torch_cpu).commands()
    index = _local_cpu_index(tmp_path)
    # Resolved for real against a CPU-only index, installed only in pip's imagination (a dry run).
    done = bash(command, tmp_path, TORCH_CPU_INDEX=index.as_uri(), PIP_DRY_RUN="1", PIP_CONFIG_FILE=os.devnull)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"Would install .*\btorch-2\.13\.0\+cpu\b", done.stdout), done.stdout
    from packaging.specifiers import SpecifierSet

    assert "2.13.0+cpu" in SpecifierSet("==2.13.0")  # so the test extra keeps it


@claims("test_install_from_a_commit")
def _git_install(block: Block) -> bool:
    return block.section.startswith("Set-up") and "git+https" in block.text


def _from_here(command: str) -> str:
    """A README command with this repository's URL and `<commit sha>` made local: this checkout, HEAD."""
    # (pip wants a host in a file URL: file://localhost/...)
    local = ROOT.as_uri().replace("file:///", "file://localhost/", 1)
    return command.replace("https://github.com/initlint/initlint", local).replace(SHA_PLACEHOLDER, _head())


@pytest.mark.slow
def test_install_from_a_commit(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    [command] = readme.only(_git_install).commands()
    done = subprocess.run(["bash", "-c", _from_here(command)], cwd=tmp_path, capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, PATH=os.pathsep.join([str(venv / "bin"), os.environ["PATH"]])))
    assert done.returncode == 0, done.stdout + done.stderr
    version = subprocess.run([str(venv / "bin" / "initlint"), "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("initlint ")
    assert subprocess.run([str(venv / "bin" / "python"), "-c", "import pygls, lsprotocol"]).returncode == 0  # the [lsp] extra


# ---- usage, configuration, suppression ------------------------------------------------------------


@claims("test_usage_commands")
def _usage(block: Block) -> bool:
    return block.section == "Usage"


# The exit status each usage line must give in the sample project (findings: 1).
USAGE_STATUS = {"initlint rule IL004": 0}


def test_usage_commands(sample):
    commands = readme.only(_usage).commands()
    assert len(commands) >= 8
    for command in commands:
        if "--watch" in command:
            _watch(command, sample)
            continue
        done = bash(command, sample)
        assert done.returncode == USAGE_STATUS.get(command, 1), (command, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        if "--format json" in command:
            assert json.loads(done.stdout)
        if "-o " in command:
            path = sample / command.split("-o ", 1)[1].split()[0]
            assert json.loads(path.read_text())["version"] == "2.1.0"
        if "--show-fixes" in command:
            assert "Fixed 1 problem:" in done.stderr and "IL004 (init-before-layers)" in done.stderr
        if "--stdin-filename" in command:
            assert done.stdout.startswith("src/model.py:22:13: IL005")
    assert (sample / "src" / "lenet.py").read_text() == (FIXTURES / "IL004_lenet_seed004.fixed").read_text()


def _watch(command: str, cwd: Path) -> None:
    process = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=cwd, env=_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        seen = ""
        while "Watching for file changes" not in seen:
            assert time.monotonic() < deadline and process.poll() is None, seen
            seen += process.stderr.readline()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert process.returncode == 0


@claims("test_configuration_block")
def _configuration(block: Block) -> bool:
    return block.section == "Configuration"


def test_configuration_block(sample, monkeypatch):
    from initlint.config import Resolver
    from initlint.config_files import KEYS

    text = readme.only(_configuration).text
    table = _toml(text)["tool"]["initlint"]
    assert set(table) | {"output-format"} == set(KEYS)  # every key is shown (output-format in a comment)
    (sample / "pyproject.toml").write_text(text)
    (sample / "tests").mkdir()
    (sample / "tests" / "t.py").write_text(BAD)
    monkeypatch.chdir(sample)
    settings = Resolver({}).globals
    assert "IL005" not in settings.select and "IL001" in settings.select
    assert settings.cache_dir == str(sample / ".initlint_cache") and settings.format == "concise"
    done = bash("initlint --no-cache .", sample)
    assert done.returncode == 1, done.stderr
    assert "tests/t.py" not in done.stdout and "IL005" not in done.stdout and "src/lenet.py" in done.stdout


@claims("test_suppression_comments")
def _suppression(block: Block) -> bool:
    return block.section == "Suppression" and block.language == "python"


def test_suppression_comments(tmp_path):
    model = (
        "import torch.nn as nn\nclass M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 8, bias=False)\n        self.out = nn.Linear(8, 1, bias=False)\n"
        "        nn.init.constant_(self.out.weight, 0.5)\n        {}\n"
        "    def forward(self, x):\n        return self.out(self.fc(x).relu())\n"
    )
    for line in readme.only(_suppression).text.splitlines():
        (tmp_path / "m.py").write_text(model.format(line))
        assert bash("initlint --no-cache m.py", tmp_path).returncode == 0, line
        (tmp_path / "m.py").write_text(model.format(line.split("  #")[0]))
        assert bash("initlint --no-cache m.py", tmp_path).returncode == 1, line


@claims("test_ruff_external")
def _ruff(block: Block) -> bool:
    return block.section == "Suppression" and block.language == "toml"


def test_ruff_external():
    """ruff keeps `# noqa` codes it does not know only when they are listed in lint.external."""
    config = _toml(readme.only(_ruff).text)
    assert "IL" in config["tool"]["ruff"]["lint"]["external"]
    ruff = shutil.which("ruff")
    if ruff is None:
        return  # (ruff is not a dependency; where it is installed, it is asked too)
    done = subprocess.run([ruff, "check", "--isolated", "--show-settings", "."], capture_output=True, text=True)
    assert done.returncode in (0, 1, 2)


# ---- runtime mode ---------------------------------------------------------------------------------


@claims("test_runtime_commands")
def _runtime_console(block: Block) -> bool:
    return block.section.startswith("Runtime mode") and block.language == "console"


@claims("test_runtime_api")
def _runtime_api(block: Block) -> bool:
    return block.section.startswith("Runtime mode") and block.language == "python"


MODELS = ROOT / "tests" / "runtime_models"


@pytest.mark.slow
def test_runtime_commands(sample):
    pytest.importorskip("torch")
    shutil.copyfile(MODELS / "mnist.py", sample / "model.py")
    shutil.copyfile(MODELS / "lenet.py", sample / "lenet.py")
    (sample / "pkg").mkdir()
    (sample / "pkg" / "__init__.py").write_text("")
    shutil.copyfile(MODELS / "healthy.py", sample / "pkg" / "models.py")
    with open(sample / "pkg" / "models.py", "a") as handle:
        handle.write("\nNet = " + _first_class(MODELS / "healthy.py") + "\n")
    cuda = _cuda()
    for command in readme.only(_runtime_console).commands():
        done = bash(command, sample, timeout=900)
        output = done.stdout + done.stderr
        assert "Traceback" not in output, (command, output)
        if "--device cuda" in command and not cuda:
            assert done.returncode in (1, 2) and "cuda" in output.lower(), (command, output)
        else:
            assert done.returncode in (0, 1), (command, output)
        if "--runtime" in command:  # each static finding carries the runtime's verdict
            findings = [line for line in done.stdout.splitlines() if ": IL" in line]
            assert findings and all("[runtime: " in line for line in findings), output


def _first_class(path: Path) -> str:
    return re.search(r"^class (\w+)\(", path.read_text(), re.M).group(1)


def _cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False


@pytest.mark.slow
def test_runtime_api():
    torch = pytest.importorskip("torch")
    code = readme.only(_runtime_api).text
    healthy = {"MyNet": lambda: torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10)), "torch": torch}
    exec(compile(code, "README.md", "exec"), dict(healthy))  # noqa: S102 - the README's own snippet
    broken = {"MyNet": lambda: _constant(torch), "torch": torch}
    with pytest.raises(AssertionError):
        exec(compile(code, "README.md", "exec"), dict(broken))  # noqa: S102


def _constant(torch):
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    for layer in (net[0], net[2]):  # every unit of every layer alike: they stay alike
        torch.nn.init.constant_(layer.weight, 0.5)
        torch.nn.init.zeros_(layer.bias)
    return net


# ---- CI, pre-commit, the Action, tasks ---------------------------------------------------------------


@claims("tests/test_precommit.py::test_the_readme_snippet_blocks_a_commit")
def _precommit(block: Block) -> bool:
    return block.language == "yaml" and block.text.startswith("repos:")


def test_precommit_snippet_pins_a_commit():
    config = _yaml(readme.only(_precommit).text)
    [repo] = config["repos"]
    assert repo["rev"] == SHA_PLACEHOLDER and [hook["id"] for hook in repo["hooks"]] == ["initlint"]
    assert "commit sha" in readme.README.read_text(encoding="utf-8")


def _yaml(text: str):
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(text)


@claims("test_action_snippets")
def _action_uses(block: Block) -> bool:
    return block.language == "yaml" and "uses: initlint/initlint@" in block.text


def test_action_snippets(sample, tmp_path):
    from test_action import run_action

    annotations, sarif = [readme.blocks()[i] for i, b in enumerate(readme.blocks()) if _action_uses(b)]
    steps = _yaml(annotations.text)
    assert steps[0]["uses"] == "actions/checkout@v4"
    step = steps[1]
    assert step["uses"] == f"initlint/initlint@{SHA_PLACEHOLDER}"  # this repository's action.yml, at a commit
    ran, _, outputs = run_action(sample, tmp_path, **step["with"])
    assert outputs["github"]["exit-code"] == "1" and "::error file=src/model.py," in ran[-1][2]
    [step] = _yaml(sarif.text)
    given = {key: str(value) for key, value in step["with"].items()}
    ran, used, outputs = run_action(sample, tmp_path, **given)
    assert used[-1] == "github/codeql-action/upload-sarif@v3" and outputs["sarif"]["exit-code"] == "1"
    assert json.loads((sample / "initlint.sarif").read_text())["version"] == "2.1.0"


@claims("test_without_the_action")
def _without_action(block: Block) -> bool:
    return block.language == "yaml" and "git+https" in block.text


@pytest.mark.slow
def test_without_the_action(sample, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    path = os.pathsep.join([str(venv / "bin"), os.environ["PATH"]])
    outputs = []
    for step in _yaml(readme.only(_without_action).text):
        done = subprocess.run(["bash", "-eo", "pipefail", "-c", _from_here(step["run"])], cwd=sample, capture_output=True,
                              text=True, timeout=900, env=dict(os.environ, PATH=path))
        outputs.append(done)
    install, matcher, lint = outputs
    assert install.returncode == 0, install.stdout + install.stderr
    line = matcher.stdout.strip()
    assert line.startswith("::add-matcher::") and Path(line[len("::add-matcher::"):]).is_file()
    assert str(venv) in line  # the matcher of the initlint this step installed
    assert lint.returncode == 1 and "src/model.py:24:9: IL001" in lint.stdout  # findings fail the job
    regexp = json.loads(Path(line[len("::add-matcher::"):]).read_text())["problemMatcher"][0]["pattern"][0]["regexp"]
    assert all(re.match(regexp, row) for row in lint.stdout.splitlines())


@claims("test_sarif_without_the_action")
def _sarif_step(block: Block) -> bool:
    return block.language == "yaml" and "upload-sarif" in block.text and "initlint/initlint@" not in block.text


def test_sarif_without_the_action(sample):
    jsonschema = pytest.importorskip("jsonschema")
    run, upload = _yaml(readme.only(_sarif_step).text)
    done = bash(run["run"], sample)
    assert done.returncode == 0  # --exit-zero: the upload step still runs
    log = json.loads((sample / upload["with"]["sarif_file"]).read_text())
    jsonschema.validate(log, json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text()))
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert uris == {"src/model.py", "src/lenet.py"}


@claims("test_vscode_task")
def _task(block: Block) -> bool:
    return block.language == "json" and '"tasks"' in block.text


def test_vscode_task(tmp_path):
    from initlint.editors import problem_matcher_path

    [task] = json.loads(readme.only(_task).text)["tasks"]
    matcher = task["problemMatcher"]
    shipped = json.loads(Path(problem_matcher_path()).read_text())["problemMatcher"][0]["pattern"][0]
    assert matcher["pattern"]["regexp"] == shipped["regexp"]
    assert {k: matcher["pattern"][k] for k in ("file", "line", "column", "code", "message")} == {k: shipped[k] for k in ("file", "line", "column", "code", "message")}
    # What VS Code does with a process task: substitute the variable, run the program with the
    # arguments as they are (no shell), match each output line, resolve the file.
    workspace = tmp_path / "my project" / "it's $HOME `x`"
    (workspace / "src").mkdir(parents=True)
    (workspace / "src" / "bad.py").write_text(BAD)
    assert task["type"] == "process"

    def substitute(value: str) -> str:
        return value.replace("${workspaceFolder}", str(workspace))

    argv = [task["command"], *map(substitute, task["args"])]
    done = subprocess.run(argv, cwd=workspace, env=_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    regex = re.compile(matcher["pattern"]["regexp"])
    [line] = done.stdout.splitlines()
    match = regex.match(line)
    assert match, line
    kind, base = matcher["fileLocation"]
    found = Path(match.group(1)) if Path(match.group(1)).is_absolute() else Path(substitute(base)) / match.group(1)
    assert kind == "autoDetect" and found == workspace / "src" / "bad.py" and (match.group(2), match.group(3)) == ("3", "1")


# ---- editors ------------------------------------------------------------------------------------------


@claims("tests/test_vscode.py (the block builds, packages and installs the extension)")
def _vscode(block: Block) -> bool:
    return block.language == "sh" and "editors/vscode" in block.text


@claims("test_neovim_snippets")
def _neovim(block: Block) -> bool:
    return block.language == "lua"


NVIM_STUB = """
local calls = { autocmds = {}, started = {} }
local function stub(version)
  local vim = { api = {}, lsp = {}, fs = {} }
  function vim.api.nvim_create_autocmd(event, opts) table.insert(calls.autocmds, { event = event, opts = opts }) end
  function vim.api.nvim_buf_get_name(buf) assert(buf == 7, "the buffer of the event"); return "/work/proj/src/model.py" end
  function vim.lsp.start(config) table.insert(calls.started, config); return 1 end
  function vim.fs.dirname(path) return (path:gsub("/[^/]*$", "")) end
  function vim.fs.find(names, opts)
    assert(opts.upward and opts.path == "/work/proj/src", "searches upwards from the file's folder")
    return { "/work/proj/pyproject.toml" }
  end
  if version >= 10 then
    function vim.fs.root(buf, markers) assert(buf == 7); return "/work/proj" end
  end
  return vim
end
return { calls = calls, stub = stub }
"""


def test_neovim_snippets():
    lupa = pytest.importorskip("lupa", reason="lupa runs the Lua snippets (pip install -e '.[test]')")
    new, old = [b for b in readme.blocks() if _neovim(b)]
    assert "0.10" in new.section + _before(new) and "0.8" in _before(old)

    def run(snippet: Block, version: int):
        lua = lupa.LuaRuntime(unpack_returned_tuples=True)
        harness = lua.execute(NVIM_STUB)
        lua.globals().vim = harness.stub(version)
        lua.execute(snippet.text)
        [autocmd] = list(harness.calls.autocmds.values())
        assert autocmd.event == "FileType" and autocmd.opts.pattern == "python"
        autocmd.opts.callback(lua.table_from({"buf": 7}))
        [config] = list(harness.calls.started.values())
        return config.name, list(config.cmd.values()), config.root_dir

    expected = ("initlint", ["initlint", "lsp"], "/work/proj")
    assert run(new, 10) == expected
    assert run(old, 8) == expected and run(old, 10) == expected
    with pytest.raises(lupa.LuaError):
        run(new, 9)  # vim.fs.root is missing before 0.10: the note is needed


def _before(block: Block) -> str:
    """The README's paragraph just above a block."""
    lines = readme.README.read_text(encoding="utf-8").splitlines()[: block.line - 1]
    return "\n".join(lines[-3:])


@claims("test_helix_snippet")
def _helix(block: Block) -> bool:
    return block.language == "toml" and "language-server" in block.text


def test_helix_snippet():
    config = _toml(readme.only(_helix).text)
    server = config["language-server"]["initlint"]
    assert [server["command"], *server["args"]] == ["initlint", "lsp"]  # the command the LSP tests start
    [python] = config["language"]
    assert python["name"] == "python" and "initlint" in python["language-servers"]
    done = subprocess.run([str(BIN / "initlint"), "lsp", "--help"], capture_output=True, text=True)
    assert done.returncode == 0


# ---- inline commands of these sections ---------------------------------------------------------------


def test_inline_commands(sample):
    assert bash("flake8 --select IL src/", sample).stdout.count("IL00") >= 2
    typo = bash("initlint chekc", sample)
    assert typo.returncode == 2 and "Commands:" in typo.stderr
    assert Path(bash("initlint matcher-path", sample).stdout.strip()).is_file()
    assert re.match(r"^[0-9a-f]{40}\tHEAD$", bash(f"git ls-remote {ROOT} HEAD", sample).stdout.splitlines()[0])


# ---- reliability (the long fuzz runs: run small, or collected) ----------------------------------------


@claims("test_long_fuzz_commands")
def _fuzz(block: Block) -> bool:
    return block.section == "Reliability"


def test_long_fuzz_commands(tmp_path):
    commands = readme.only(_fuzz).commands()
    assert len(commands) == 3
    for command in commands:
        if command.startswith("python bench/fuzz_long.py"):
            small = re.sub(r"-n \d+", "", command) + " -n 2"  # the same command, two inputs a kind
            done = bash(small.replace("python ", f"{sys.executable} ", 1), ROOT, TMPDIR=str(tmp_path))
            assert done.returncode == 0 and "0 failures" in done.stdout, done.stdout + done.stderr
        else:
            assert command.startswith("INITLINT_FUZZ_LONG=1 pytest ")
            collected = bash(command.replace("pytest", f"{sys.executable} -m pytest --collect-only -q", 1), ROOT)
            assert collected.returncode == 0 and " tests collected" in collected.stdout, collected.stdout
