"""The result cache: hits when nothing changed, misses after an edit, a config change or an
upgrade, survives corrupt entries and parallel writers, and reports the current path."""

from __future__ import annotations

import json
import multiprocessing
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import initlint
from initlint import cache, engine
from initlint.cli import main
from initlint.config import Settings, all_codes

from conftest import FIXTURES

FINDING = FIXTURES / "IL001_fill_and_tensors.py"


def _settings(tmp_path: Path, **changes) -> Settings:
    base = Settings(select=all_codes(), root=str(tmp_path), cache_dir=str(tmp_path / "cache"))
    return base.with_overrides(**changes) if changes else base


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "model.py"
    shutil.copyfile(FINDING, target)
    return target


@pytest.fixture
def calls(monkeypatch):
    """Counts the files that were really linted (not answered by the cache)."""
    seen = []
    real = engine.lint_source

    def counting(source, path, settings, rules=None, **options):
        seen.append(path)
        return real(source, path, settings, rules, **options)

    monkeypatch.setattr(engine, "lint_source", counting)
    return seen


def test_hit_when_nothing_changed(project, tmp_path, calls):
    settings = _settings(tmp_path)
    first = engine.lint_file(str(project), settings)
    second = engine.lint_file(str(project), settings)
    assert first.diagnostics and first == second
    assert calls == [str(project)]  # the second answer came from the cache
    assert second.source == project.read_text()


def test_miss_after_an_edit(project, tmp_path, calls):
    settings = _settings(tmp_path)
    engine.lint_file(str(project), settings)
    project.write_text(project.read_text() + "\nx = 1\n")
    engine.lint_file(str(project), settings)
    assert len(calls) == 2


def test_miss_after_a_config_change(project, tmp_path, calls):
    engine.lint_file(str(project), _settings(tmp_path))
    only_il002 = engine.lint_file(str(project), _settings(tmp_path, select=("IL002",)))
    assert len(calls) == 2
    assert all(d.code != "IL001" for d in only_il002.diagnostics)
    engine.lint_file(str(project), _settings(tmp_path, extend_init_modules=("mylib.init",)))
    assert len(calls) == 3


def test_per_file_ignores_are_part_of_the_key(project, tmp_path, calls):
    engine.lint_file(str(project), _settings(tmp_path))
    ignored = engine.lint_file(str(project), _settings(tmp_path, per_file_ignores=(("model.py", ("IL001",)),)))
    assert len(calls) == 2
    assert all(d.code != "IL001" for d in ignored.diagnostics)


def test_miss_after_an_upgrade(project, tmp_path, calls, monkeypatch):
    settings = _settings(tmp_path)
    engine.lint_file(str(project), settings)
    monkeypatch.setattr(initlint, "__version__", initlint.__version__ + ".post1")
    engine.lint_file(str(project), settings)
    assert len(calls) == 2


def test_corrupt_entries_are_misses(project, tmp_path, calls):
    settings = _settings(tmp_path)
    expected = engine.lint_file(str(project), settings)
    entries = list((tmp_path / "cache" / f"v{cache.SCHEMA}").iterdir())
    assert len(entries) == 1
    for garbage in (b"", b"not a pickle", b"\x80\x05K\x01."):  # empty, junk, a pickle of the wrong shape
        entries[0].write_bytes(garbage)
        assert engine.lint_file(str(project), settings) == expected
    assert len(calls) == 4
    assert engine.lint_file(str(project), settings) == expected  # rewritten whole
    assert len(calls) == 4


def test_a_renamed_copy_reports_its_own_path(project, tmp_path, calls):
    settings = _settings(tmp_path)
    engine.lint_file(str(project), settings)
    twin = tmp_path / "twin.py"
    shutil.copyfile(project, twin)
    result = engine.lint_file(str(twin), settings)
    assert calls == [str(project)]
    assert result.diagnostics and all(d.path == str(twin) for d in result.diagnostics)


def test_the_folder_is_tagged_like_other_caches(project, tmp_path):
    engine.lint_file(str(project), _settings(tmp_path))
    folder = tmp_path / "cache"
    assert (folder / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"


def test_no_cache_writes_nothing(project, tmp_path, calls):
    settings = _settings(tmp_path, no_cache=True)
    engine.lint_file(str(project), settings)
    engine.lint_file(str(project), settings)
    assert len(calls) == 2
    assert not (tmp_path / "cache").exists()


def test_files_with_nothing_to_check_never_touch_the_cache(tmp_path):
    quiet = tmp_path / "quiet.py"
    quiet.write_text("x = 1\n")
    assert engine.lint_file(str(quiet), _settings(tmp_path)).diagnostics == ()
    assert not (tmp_path / "cache").exists()


def _lint_many(args):
    paths, folder = args
    settings = Settings(select=all_codes(), root=folder, cache_dir=os.path.join(folder, "cache"))
    return [engine.lint_file(path, settings) for path in paths]


def test_two_processes_writing_at_once(tmp_path):
    paths = []
    for i in range(40):
        for fixture in sorted(FIXTURES.glob("IL00[1235]_*.py"))[:3]:
            target = tmp_path / f"m{i}_{fixture.name}"
            target.write_text(fixture.read_text() + f"\n# copy {i}\n")
            paths.append(str(target))
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    with context.Pool(2) as pool:
        first, second = pool.map(_lint_many, [(paths, str(tmp_path)), (list(reversed(paths)), str(tmp_path))])
    assert first == list(reversed(second))
    folder = tmp_path / "cache" / f"v{cache.SCHEMA}"
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    again = _lint_many((paths, str(tmp_path)))  # every entry reads back whole
    assert again == first


def test_cli_cache_options(project, tmp_path):
    runner = CliRunner()
    folder = tmp_path / "elsewhere"
    result = runner.invoke(main, ["check", "--cache-dir", str(folder), str(project)])
    assert result.exit_code == 1, result.output
    assert (folder / f"v{cache.SCHEMA}").is_dir()
    repeat = runner.invoke(main, ["check", "--cache-dir", str(folder), str(project)])
    assert repeat.output == result.output
    other = tmp_path / "never"
    result = runner.invoke(main, ["check", "--no-cache", "--cache-dir", str(other), str(project)])
    assert result.exit_code == 1
    assert not other.exists()


def test_test_code_and_other_code_with_the_same_text_are_cached_apart(tmp_path, monkeypatch):
    """The model rules leave test code alone: the same bytes under tests/ and under src/ give
    different results, so their cache entries must differ."""
    from click.testing import CliRunner

    from conftest import BAD_SCRIPT
    from initlint.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    for folder in ("tests", "src"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "model.py").write_text(BAD_SCRIPT)
    first = CliRunner().invoke(main, ["check", "tests/model.py"])
    second = CliRunner().invoke(main, ["check", "src/model.py"])
    again = CliRunner().invoke(main, ["check", "tests/model.py"])
    assert first.exit_code == 0 and again.exit_code == 0
    assert second.exit_code == 1 and "src/model.py:3:1: IL001" in second.stdout


# ---- a cache that is data, not code ------------------------------------------------------------------


def _entry(tmp_path: Path) -> Path:
    (entry,) = [p for p in (tmp_path / "cache" / f"v{cache.SCHEMA}").iterdir() if not p.name.startswith(".")]
    return entry


def test_entries_are_json_and_a_planted_pickle_never_runs(project, tmp_path, calls):
    settings = _settings(tmp_path)
    expected = engine.lint_file(str(project), settings)
    entry = _entry(tmp_path)
    assert json.loads(entry.read_bytes())["schema"] == cache.SCHEMA  # plain data
    marker = tmp_path / "pwned"

    class Planted:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    entry.write_bytes(pickle.dumps((1, entry.name, Planted())))
    assert engine.lint_file(str(project), settings) == expected
    assert not marker.exists()
    assert json.loads(entry.read_bytes())["key"] == entry.name  # rewritten as data
    assert len(calls) == 2


@pytest.mark.parametrize(
    "mangle",
    [
        lambda blob: blob[: len(blob) // 2],  # truncated
        lambda blob: blob.replace(b'"location":[', b'"location":[true,'),  # a bool where an int goes
        lambda blob: blob.replace(b'"severity":"error"', b'"severity":"fatal"'),  # not a severity
        lambda blob: blob.replace(b'"code":"IL001"', b'"code":1'),  # a number where a string goes
        lambda blob: b'{"schema": 2, "key": "' + b"0" * 40 + b'", "diagnostics": []}',  # another key's entry
        lambda blob: b"[" * 100_000,  # too deep to read
        lambda blob: b"\xff\xfe not json",
    ],
    ids=["truncated", "bool", "severity", "type", "foreign-key", "deep", "binary"],
)
def test_bad_entries_are_misses_and_are_rewritten(project, tmp_path, calls, mangle):
    settings = _settings(tmp_path)
    expected = engine.lint_file(str(project), settings)
    entry = _entry(tmp_path)
    good = entry.read_bytes()
    entry.write_bytes(mangle(good))
    assert engine.lint_file(str(project), settings) == expected
    assert entry.read_bytes() == good and len(calls) == 2


def test_special_entries_are_ignored_and_replaced(project, tmp_path, calls):
    """A symlink (to a file holding a valid entry), a fifo, an empty folder in an entry's place:
    each is a miss, never followed or opened, and is replaced by a regular entry."""
    settings = _settings(tmp_path)
    expected = engine.lint_file(str(project), settings)
    entry = _entry(tmp_path)
    good = entry.read_bytes()
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_bytes(good)
    for plant in (lambda: entry.symlink_to(elsewhere), lambda: os.mkfifo(entry), lambda: entry.mkdir()):
        entry.unlink() if not entry.is_dir() else entry.rmdir()
        plant()
        assert engine.lint_file(str(project), settings) == expected
        assert entry.is_file() and not entry.is_symlink() and entry.read_bytes() == good
    assert len(calls) == 4
    assert elsewhere.read_bytes() == good


def _check(cwd: Path, *args: str, env=None):
    environment = dict(os.environ, PYTHONPATH=str(Path(initlint.__file__).resolve().parent.parent), **(env or {}))
    return subprocess.run([sys.executable, "-m", "initlint", "check", *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


def test_a_cache_folder_that_is_a_symlink_is_never_written_through(project, tmp_path):
    target = tmp_path / "someone_elses"
    target.mkdir()
    (tmp_path / cache.DIRNAME).symlink_to(target)
    (tmp_path / "pyproject.toml").write_text("[tool.initlint]\n")
    result = _check(tmp_path, "model.py")
    assert result.returncode == 1 and "model.py:" in result.stdout
    assert list(target.iterdir()) == []
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "symbolic link" in warnings[0], result.stderr


def test_folders_inside_the_cache_are_real_folders(project, tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    target = tmp_path / "target"
    target.mkdir()
    (folder / f"v{cache.SCHEMA}").symlink_to(target)
    (folder / "CACHEDIR.TAG").symlink_to(tmp_path / "tag-target")
    engine.lint_file(str(project), _settings(tmp_path))
    assert list(target.iterdir()) == [] and not (tmp_path / "tag-target").exists()
    assert (folder / f"v{cache.SCHEMA}").is_dir() and not (folder / f"v{cache.SCHEMA}").is_symlink()
    assert (folder / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")


def test_the_tag_is_written_once_and_whole(project, tmp_path):
    engine.lint_file(str(project), _settings(tmp_path))
    tag = tmp_path / "cache" / "CACHEDIR.TAG"
    complete = tag.read_bytes()
    assert complete.startswith(b"Signature: 8a477f597d28d172789f06886806bc55\n") and complete.endswith(b"\n")
    inode = tag.stat().st_ino
    cache._OPEN.clear()  # a new run
    project.write_text(project.read_text() + "\n# edited\n")
    engine.lint_file(str(project), _settings(tmp_path))
    assert tag.stat().st_ino == inode  # not rewritten
    tag.write_bytes(complete[:10])  # a tag cut short (by an older version, say)
    cache._OPEN.clear()
    project.write_text(project.read_text() + "\n# edited again\n")
    engine.lint_file(str(project), _settings(tmp_path))
    assert tag.read_bytes() == complete


def test_tilde_in_cache_dir_is_the_home_folder(project, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.initlint]\ncache-dir = "~/.cache/initlint"\n')
    result = _check(tmp_path, "model.py", env={"HOME": str(home)})
    assert result.returncode == 1, result.stderr
    assert (home / ".cache" / "initlint" / f"v{cache.SCHEMA}").is_dir()
    assert not (tmp_path / "~").exists()
    flag = _check(tmp_path, "--cache-dir=~/elsewhere", "model.py", env={"HOME": str(home)})
    assert flag.returncode == 1 and (home / "elsewhere" / f"v{cache.SCHEMA}").is_dir()
    assert not (tmp_path / "~").exists()


def test_a_cache_that_cannot_be_created_is_one_warning(tmp_path):
    """The cache folder's parent is a file: every worker fails, the run says so once and goes on."""
    (tmp_path / "blocker").write_text("not a folder")
    for i in range(12):
        shutil.copyfile(FINDING, tmp_path / f"m{i}.py")
    result = _check(tmp_path, "--jobs", "2", "--cache-dir", str(tmp_path / "blocker" / "cache"), ".")
    assert result.returncode == 1
    assert result.stdout.count("IL001") >= 12
    warnings = [line for line in result.stderr.splitlines() if line.startswith("initlint: warning:")]
    assert len(warnings) == 1 and "results are not cached" in warnings[0], result.stderr
    assert "Traceback" not in result.stderr


def test_a_read_only_cache_folder_is_one_warning_for_an_unprivileged_user(tmp_path):
    """Root writes into any folder; an ordinary user gets one warning and a normal run."""
    from unprivileged import initlint as as_user, share

    share(tmp_path)
    for i in range(12):
        shutil.copyfile(FINDING, tmp_path / f"m{i}.py")
    locked = tmp_path / "locked_cache"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        result = as_user(tmp_path, "check", "--jobs", "2", "--cache-dir", locked.name, ".")
    finally:
        locked.chmod(0o755)
    assert result.returncode == 1, result.stderr
    assert result.stdout.count("IL001") >= 12
    warnings = [line for line in result.stderr.splitlines() if line.startswith("initlint: warning:")]
    assert len(warnings) == 1 and "Permission denied" in warnings[0], result.stderr
    assert list(locked.iterdir()) == []
