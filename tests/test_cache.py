"""The result cache: hits when nothing changed, misses after an edit, a config change or an
upgrade, survives corrupt entries and parallel writers, and reports the current path."""

from __future__ import annotations

import multiprocessing
import os
import shutil
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
