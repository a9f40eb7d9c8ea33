"""`--runtime` builds each model the way its file does, and judges a finding only on a build that ran its site.

tests/runtime_models/recipes.py marks each flagged line with `# site: NAME`; one worker runs the whole
file. The planner and the guard solver (no torch) are tested directly below.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from initlint.diagnostic import Diagnostic, Location
from initlint.runtime import guards
from initlint.runtime.recipes import FileIndex, Planner, site_rows

MODELS = Path(__file__).resolve().parent / "runtime_models"
RECIPES = MODELS / "recipes.py"
SITES = {
    "call_site": "IL001", "branch": "IL002", "factory": "IL001", "test_function": "IL003", "main_block": "IL003",
    "weak_start": "IL010", "tied_for_ever": "IL010", "random_bias": "IL001", "overwritten": "IL001",
    "plain_list": "IL006", "tensor_attribute": "IL009", "repeated": "IL007", "tied_on_purpose": "IL007",
    "uninitialised": "IL008", "reset_in_init": "IL008",
}


def _rows(path: Path):
    text = path.read_text()
    return {line.split("# site: ")[1].strip(): n for n, line in enumerate(text.splitlines(), 1) if "# site: " in line}


@pytest.fixture(scope="module")
def verdicts():
    pytest.importorskip("torch")
    from initlint.runtime.confirm import confirm

    rows = _rows(RECIPES)
    wanted = []
    for name, code in SITES.items():
        here = Location(rows[name], 9)
        wanted.append(Diagnostic(code, "static", name, str(RECIPES), here, here))
    return {d.message: d.notes[-1] for d in confirm(wanted, timeout=60)}


def test_literal_call_site_selects_the_branch(verdicts):
    assert verdicts["call_site"] == (
        "runtime: confirmed — fc1.weight: 12 units, 1 distinct (identical weights and gradients over 3 steps) "
        "[built as ViaCallSite(mode='const', width=12)]"
    )


def test_branch_is_taken_by_solving_its_test_and_the_skipping_instance_is_not_used(verdicts):
    note = verdicts["branch"]
    assert note.startswith("runtime: confirmed — fc1.weight: gradient exactly zero at every one of 3 steps")
    assert note.endswith("[built as ViaBranch(zero_init=True)]")


def test_zero_argument_factory(verdicts):
    assert verdicts["factory"].startswith("runtime: confirmed — fc1.weight: 10 units, 1 distinct")
    assert verdicts["factory"].endswith("[built as make_factory_model()]")


def test_test_function_is_run_until_the_first_forward(verdicts):
    note = verdicts["test_function"]
    assert note.startswith("runtime: confirmed — fc1.weight: 6 units, 1 distinct")
    assert note.endswith("[built as test_via_test() (net as it stood at its first forward call)]")


def test_main_block_is_run_with_default_arguments_and_stopped_at_the_first_forward(verdicts):
    note = verdicts["main_block"]
    assert note.startswith("runtime: confirmed — fc1.weight: 8 units, 1 distinct")
    assert "gradient exactly zero" in note
    assert note.endswith("[built as the __main__ block (model as it stood at its first forward call)]")


def test_weak_start_is_confirmed_with_the_counts_at_init_and_after(verdicts):
    assert verdicts["weak_start"] == (
        "runtime: confirmed — fc1.weight: 1 distinct of 16 units at init (the bias already tells them apart), "
        "16 distinct after 3 steps [built as WeakStart()]"
    )


def test_weak_start_that_never_breaks_is_worse_than_claimed(verdicts):
    assert verdicts["tied_for_ever"].startswith("runtime: refuted (worse than claimed) — the units stay identical for ever")


def test_refutations_say_what_broke_the_tie(verdicts):
    assert verdicts["random_bias"].startswith(
        "runtime: refuted — fc1.weight: 1 distinct of 16 by their weights at init, but the random bias tells every unit apart"
    )
    assert verdicts["overwritten"].startswith("runtime: refuted — fc1.weight: its 16 units are not identical at init")


def test_unregistered_tensors_are_confirmed_by_il105(verdicts):
    assert verdicts["plain_list"].startswith("runtime: confirmed — layers: 4 tensors (layers[0].bias, layers[0].weight")
    assert "module(s) kept in a plain Python container" in verdicts["plain_list"]
    assert verdicts["tensor_attribute"].startswith("runtime: confirmed — scale (4) requires grad and reaches the loss")


def test_shared_modules_are_confirmed_by_il106_and_tying_by_name_is_refuted(verdicts):
    assert verdicts["repeated"].startswith("runtime: confirmed — blocks.0, blocks.1, blocks.2 are one Block object")
    assert verdicts["tied_on_purpose"].startswith("runtime: refuted — no module object with parameters fills two places")


def test_uninitialised_parameters_are_confirmed_by_il107(verdicts):
    assert verdicts["uninitialised"].startswith("runtime: confirmed — weight (4x8) still holds the untouched memory of torch.Tensor(4, 8)")
    assert verdicts["reset_in_init"].startswith("runtime: refuted — every parameter of ResetInInit was written")


# --- the planner, without torch -----------------------------------------------------------------------


def plan(source: str, marker: str, **options):
    source = textwrap.dedent(source)
    row = next(n for n, line in enumerate(source.splitlines(), 1) if marker in line)
    return Planner(FileIndex("model.py", ast.parse(source))).plan(row, **options)


def test_class_site_recipes_come_in_order():
    found = plan(
        '''
        import torch.nn as nn
        class Net(nn.Module):
            def __init__(self, width, const=False):
                super().__init__()
                self.fc = nn.Linear(4, width)
                if const:
                    nn.init.constant_(self.fc.weight, 1)  # HERE
        net = Net(8)
        def build():
            return Net(4, const=True)
        def run(lr):
            model = Net(16)
        def test_net():
            Net(2)
        if __name__ == "__main__":
            Net(3)
        ''',
        "# HERE",
    )
    assert [(r.label, r.origin) for r in found.recipes] == [
        ("module-level net", "the module-level instance net"),
        ("build()", "the factory build()"),
        ("Net(width=4, const=True)", "the call at line 11"),  # takes the branch as written
        ("Net(width=8, const=True)", "the call at line 9, with const=True to take the branch"),
        ("Net(width=16, const=True)", "the call at line 13, with const=True to take the branch"),
        ("Net(width=2, const=True)", "the call at line 15, with const=True to take the branch"),
        ("Net(width=3, const=True)", "the call at line 17, with const=True to take the branch"),
        ("test_net()", "the test function test_net()"),
        ("the __main__ block", "the __main__ block"),
    ]
    assert found.scope == "class Net"


def test_call_sites_that_take_the_branch_come_first_and_others_get_the_argument():
    found = plan(
        '''
        class Net(Module):
            def __init__(self, mode="random", width=4):
                if mode == "const":
                    fill(self)  # HERE
        a = make(Net(mode="other", width=3))
        b = make(Net(mode="const"))
        ''',
        "# HERE",
    )
    builds = [(r.label, r.origin) for r in found.recipes if r.kind == "build"]
    assert builds == [
        ("Net(mode='const')", "the call at line 7"),
        ("Net(mode='const', width=3)", "the call at line 6, with mode='const' to take the branch"),
    ]


def test_function_site_follows_its_uses():
    found = plan(
        '''
        def init(m):
            m.weight.data.fill_(1)  # HERE
        class A(Module):
            def __init__(self):
                self.apply(init)
        net = Seq()
        net.apply(init)
        def test_it():
            init(Seq())
        ''',
        "# HERE",
    )
    assert [r.label for r in found.recipes] == ["A()", "module-level net", "test_it()"]


def test_unused_function_and_unbuildable_class_say_why_and_what_to_try():
    unused = plan("def init(model):\n    model.fill_(1)  # HERE\n", "# HERE")
    assert unused.recipes == [] and "never used in this file" in unused.reason
    assert "initlint runtime model.py::make" in unused.suggestion
    needs = plan("class Net(Module):\n    def __init__(self, n: int, scale: float):\n        fill(self)  # HERE\n", "# HERE")
    assert needs.recipes == [] and "needs constructor arguments (n, scale)" in needs.reason
    assert needs.suggestion == "initlint runtime model.py::Net --args '{\"n\": 8, \"scale\": 1.0}'"


def test_watching_the_construction_drops_instances():
    source = "class Net(Module):\n    def __init__(self):\n        self.init()  # HERE\nnet = Net()\n"
    assert [r.kind for r in plan(source, "# HERE").recipes] == ["instance", "build"]
    assert [r.kind for r in plan(source, "# HERE", watch_construction=True).recipes] == ["build"]


def test_module_level_site_probes_the_names_of_its_statement():
    found = plan("net = Net()\nwith no_grad():\n    for p in net.parameters():\n        p.fill_(1)  # HERE\n", "# HERE")
    assert found.recipes[0].kind == "instance" and "net" in found.recipes[0].candidates


def test_site_rows_of_a_compound_statement_are_its_header():
    source = "for m in modules():\n    if ok(m):\n        fill(m)\nx = f(\n    1,\n)\n"
    index = FileIndex("m.py", ast.parse(source))
    assert site_rows(index, 1) == (1,)
    assert site_rows(index, 4) == (4, 5, 6)


def test_package_call_sites_need_an_import_of_the_class(tmp_path):
    (tmp_path / "model.py").write_text("class Net(Module):\n    def __init__(self, n):\n        fill(self)  # HERE\n")
    (tmp_path / "train.py").write_text("from model import Net\nnet = Net(7)\n")
    (tmp_path / "other.py").write_text("class Net:\n    pass\nNet(99)\n")  # another Net: never used
    index = FileIndex(str(tmp_path / "model.py"), ast.parse((tmp_path / "model.py").read_text()))
    recipes = Planner(index).plan(3).recipes
    assert [(r.label, r.origin.split(" of ")[0]) for r in recipes] == [("Net(n=7)", "the call at line 2")]


# --- the guard solver ------------------------------------------------------------------------------------


def _solve(source: str, row: int):
    function = ast.parse(textwrap.dedent(source)).body[0]
    params = {p.name: p for p in guards.parameters(function)}
    alias = guards.aliases(function, list(params))
    tests = guards.conditions(function, row)
    return guards.solve(tests, params, alias), tests, params, alias


@pytest.mark.parametrize(
    "test, expected",
    [
        ("flag", {"flag": True}),
        ("not flag", {"flag": False}),
        ("mode == 'const'", {"mode": "const"}),
        ("'const' == mode", {"mode": "const"}),
        ("mode in ('a', 'b')", {"mode": "a"}),
        ("mode is None", {"mode": None}),
        ("flag and mode == 'x'", {"flag": True, "mode": "x"}),
        ("self.on", {"on": True}),
        ("isinstance(m, Linear)", {}),
    ],
)
def test_guards_are_solved(test, expected):
    source = f"def __init__(self, flag=False, mode='random', on=False):\n    self.on = on\n    if {test}:\n        site()\n"
    solved, *_ = _solve(source, 4)
    assert solved == expected


def test_else_branch_and_elif_are_followed():
    source = "def __init__(self, mode='a'):\n    if mode == 'a':\n        pass\n    elif mode == 'b':\n        site()\n    else:\n        other()\n"
    solved, tests, params, alias = _solve(source, 5)
    assert solved == {"mode": "b"}
    assert guards.holds(tests, {"mode": "b"}, params, alias) is True
    assert guards.holds(tests, {}, params, alias) is False


def test_literal_resolution():
    names = {"N": 4}
    assert guards.literal(ast.parse("28 * 28", mode="eval").body) == 784
    assert guards.literal(ast.parse("(N, -1)", mode="eval").body, names) == (4, -1)
    assert not guards.known(guards.literal(ast.parse("f(1)", mode="eval").body))
