"""Fuzzing the static path: generated and mutated files through the whole pipeline.

Every input must give diagnostics or a named IL901/IL902 error (never IL903, never an exception),
render well-formed output in every format, and give the same result twice and with 1 or 2 jobs.
Short mode (CI): a fixed, derandomized few hundred inputs. Long mode: `INITLINT_FUZZ_LONG=1`
(or `python bench/fuzz_long.py`) runs tens of thousands with fresh randomness.
"""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from conftest import ROOT, settings
from fuzz.check import check_all, check_formats
from fuzz.gen import mutated, pytorch_source, seed_files
from initlint.cli import main

LONG = os.environ.get("INITLINT_FUZZ_LONG") == "1"
SCALE = int(os.environ.get("INITLINT_FUZZ_SCALE", "40")) if LONG else 1
SEEDS = [p.read_bytes() for p in seed_files()]


def fuzz(examples: int, *allow: HealthCheck):
    """Hypothesis settings: fixed and quick in CI, `SCALE` times more and random in long mode."""
    return hsettings(
        max_examples=examples * SCALE,
        deadline=None,
        derandomize=not LONG,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much, *allow],
    )


@fuzz(120)
@given(pytorch_source())
def test_generated_pytorch_code(source: str):
    check_all(source.encode("utf-8"), "gen.py", settings())


@fuzz(200)
@given(mutated(SEEDS))
def test_mutated_real_files(data: bytes):
    check_all(data, "mutant.py", settings())


@fuzz(40)
@given(pytorch_source(), st.integers(0, 3))
def test_generated_code_under_other_names(source: str, which: int):
    """Per-file-ignores, stubs and notebook-ish names take other paths through the engine."""
    path = ["pkg/__init__.py", "stub.pyi", "tests/test_model.py", "dir with space/ünï.py"][which]
    check_all(source.encode("utf-8"), path, settings())


def test_hypothesmith_snippets_inside_a_model():
    """Arbitrary grammar-valid Python (hypothesmith), embedded where the rules look."""
    hypothesmith = pytest.importorskip("hypothesmith")

    @fuzz(25)
    @given(hypothesmith.from_node())
    def inner(snippet: str):
        body = "".join("        " + line + "\n" for line in snippet.splitlines()) or "        pass\n"
        source = (
            "import torch\nimport torch.nn as nn\n\nclass Net(nn.Module):\n    def __init__(self):\n"
            "        super().__init__()\n        self.fc = nn.Linear(4, 4)\n        nn.init.constant_(self.fc.weight, 1)\n"
            + body
        )
        check_all(source.encode("utf-8"), "smith.py", settings())
        check_all((snippet + "\nnn.init.ones_(fc.weight)\n").encode("utf-8"), "smith2.py", settings())

    inner()


def _cli(tree, *args):
    return CliRunner().invoke(main, ["check", "--no-cache", *args, str(tree)])


@fuzz(3, HealthCheck.function_scoped_fixture)
@given(st.lists(pytorch_source(), min_size=6, max_size=10), st.lists(mutated(SEEDS), min_size=6, max_size=10))
def test_cli_jobs_one_and_two_agree_in_every_format(tmp_path_factory, generated, mutants):
    """Many files (above the parallel threshold) through the CLI: serial and parallel runs agree."""
    tree = tmp_path_factory.mktemp("tree")
    for i, source in enumerate(generated):
        (tree / f"gen_{i}.py").write_text(source, encoding="utf-8", newline="")
    for i, data in enumerate(mutants):
        (tree / f"mut_{i}.py").write_bytes(data)
    for fmt in ("concise", "json", "sarif", "github", "full"):
        one = _cli(tree, "--jobs", "1", "--format", fmt)
        two = _cli(tree, "--jobs", "2", "--format", fmt)
        assert one.exit_code in (0, 1), (one.output, one.exception)
        assert (one.exit_code, one.stdout) == (two.exit_code, two.stdout)
    # and the concise lines are what the problem matcher reads
    from fuzz.check import CONCISE

    for line in _cli(tree, "--jobs", "2").stdout.splitlines():
        assert CONCISE.match(line), line


def test_formats_of_no_diagnostics():
    check_formats([], {})


def test_names_bound_in_one_function_do_not_leak_into_the_next():
    """Regression (found by the long mode): facts keyed a function's local trainables by id() of its
    Scope, which is freed when the function ends and its id reused by a later one, so a `forward`
    could inherit `__init__`'s Parameter names: a spurious IL005 that came and went between runs."""
    source = (ROOT / "fixtures" / "IL005_ok_columns_and_noise.py").read_text().replace("super().__init__()", "super().__()", 3)
    runs = {tuple(check_all(source.encode(), "leak.py", settings())) for _ in range(40)}
    assert runs == {()}
