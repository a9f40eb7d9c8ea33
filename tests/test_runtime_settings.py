"""`[tool.initlint.runtime.targets]` (validation and matching) and the progress lines; neither needs torch."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from initlint.runtime.progress import Progress
from initlint.runtime.settings import load, parse
from initlint.runtime.spec import UsageError


def test_a_full_entry_is_parsed():
    found = parse(
        {"targets": {"Encoder": {"args": {"vocab": 100}, "input-shapes": ["2,16", "2,16"], "dtype": "long", "masks": [1], "keep": [0]}}},
        "pyproject.toml", "/project",
    )
    options = found.for_class("/project/models/enc.py", "Encoder")
    assert options.kwargs == {"vocab": 100}
    assert [(s.shape, s.dtype, s.role) for s in options.input_shapes] == [((2, 16), "int64", "data"), ((2, 16), "int64", "mask")]
    assert options.keep == (0, 1)


def test_a_file_key_wins_over_a_class_name(tmp_path):
    found = parse({"targets": {"Net": {"args": {"a": 1}}, "models/net.py::Net": {"args": {"a": 2}}}}, "pyproject.toml", str(tmp_path))
    assert found.for_class(str(tmp_path / "models" / "net.py"), "Net").kwargs == {"a": 2}
    assert found.for_class(str(tmp_path / "other.py"), "Net").kwargs == {"a": 1}
    assert found.for_class(str(tmp_path / "other.py"), "Outer.Net").kwargs == {"a": 1}
    assert found.for_class(str(tmp_path / "other.py"), "Missing") is None


@pytest.mark.parametrize(
    "table, message",
    [
        ({"target": {}}, "unknown key(s) in [tool.initlint.runtime]: target"),
        ({"targets": []}, "must be a table of class names"),
        ({"targets": {"Net": 3}}, "must be a table (args"),
        ({"targets": {"Net": {"argz": {}}}}, "unknown key(s) argz"),
        ({"targets": {"Net": {"args": [1]}}}, "`args` must be a table"),
        ({"targets": {"Net": {"input-shapes": "4,3"}}}, "`input-shapes` must be a list of strings"),
        ({"targets": {"Net": {"input-shapes": ["4,x"]}}}, "expected integers"),
        ({"targets": {"Net": {"dtype": "complex7", "input-shapes": ["4"]}}}, "unknown dtype"),
        ({"targets": {"Net": {"ids": [-1]}}}, "must be a list of input positions"),
        ({"targets": {"Net": {"inputs": ["torch.ones(2)"], "masks": [1]}}}, "`masks` names input 1, but there are 1 input(s)"),
    ],
)
def test_mistakes_are_usage_errors_that_say_where(table, message):
    with pytest.raises(UsageError) as caught:
        parse(table, "pyproject.toml", "/project")
    assert message in str(caught.value) and "pyproject.toml" in str(caught.value)


def test_load_reads_the_nearest_config_through_the_config_module(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.initlint]\nselect = ["IL001"]\n\n[tool.initlint.runtime.targets.Net]\nargs = { n = 3 }\n')
    (tmp_path / "src").mkdir()
    found = load(None, tmp_path / "src")
    assert found.for_class(str(tmp_path / "src" / "m.py"), "Net").kwargs == {"n": 3}
    assert found.root == str(tmp_path)
    assert load(None, Path("/")).targets == {}


def test_the_static_configuration_accepts_the_runtime_table(tmp_path):
    from initlint.config import load as load_settings

    (tmp_path / "pyproject.toml").write_text('[tool.initlint]\nselect = ["IL001"]\n[tool.initlint.runtime.targets.Net]\nargs = {}\n')
    assert load_settings(None, tmp_path, {}).select == ("IL001",)


# --- progress --------------------------------------------------------------------------------------------


def test_progress_off_a_terminal_prints_a_line_per_start_and_end():
    stream = io.StringIO()
    with Progress(stream, describe=lambda label, outcome, seconds: f"{label}: {outcome} ({seconds:.1f} s)", total=2) as progress:
        progress.start("a.py::Net")
        progress.start("b.py::Net")
        progress.end("b.py::Net", "ok")
        progress.end("a.py::Net", "2 findings")
    lines = stream.getvalue().splitlines()
    assert lines[:2] == ["runtime: started a.py::Net", "runtime: started b.py::Net"]
    assert lines[2].startswith("runtime: [1/2] b.py::Net: ok (") and lines[3].startswith("runtime: [2/2] a.py::Net: 2 findings (")
    assert "\r" not in stream.getvalue()


def test_progress_on_a_terminal_redraws_a_live_status_with_elapsed_time():
    stream = io.StringIO()
    with Progress(stream, live=True) as progress:
        progress.start("a.py::Net")
        time.sleep(0.6)
        progress.end("a.py::Net", None)
    text = stream.getvalue()
    assert "\r\033[Kruntime: running a.py::Net (0 s)" in text
    assert "runtime: a.py::Net: done in 0." in text and text.endswith("\r\033[K")


def test_disabled_progress_prints_nothing():
    stream = io.StringIO()
    with Progress(stream, enabled=False, live=True) as progress:
        progress.start("x")
        progress.end("x", None)
    assert stream.getvalue() == ""


def test_a_broken_stream_does_not_end_the_run():
    class Broken(io.StringIO):
        def write(self, text):
            raise OSError("gone")

    with Progress(Broken()) as progress:
        progress.start("x")
        progress.end("x", None)
    assert not progress.enabled


def test_parallel_workers_never_exceed_the_cores_nor_the_targets(monkeypatch):
    """`--jobs 500` must not start 500 processes that each import torch: an asked-for count is
    capped by the cores this process may use and by the targets, as the static check's is."""
    from initlint import engine
    from initlint.runtime import isolate

    monkeypatch.setattr(engine, "cpu_count", lambda: 4)
    assert isolate.worker_count(500, 100, "cpu") == 4
    assert isolate.worker_count(500, 2, "cpu") == 2
    assert isolate.worker_count(3, 100, "cuda") == 3  # asked for on a GPU: honoured within the cores
    assert isolate.worker_count(None, 100, "cpu") == 4  # the default: up to 4 on CPU
    assert isolate.worker_count(None, 100, "cuda") == 1  # one on a GPU
    assert isolate.worker_count(None, 0, "cpu") == 1
    monkeypatch.setattr(engine, "cpu_count", lambda: 1)
    assert isolate.worker_count(None, 100, "cpu") == isolate.worker_count(8, 100, "cpu") == 1
