"""How a file builds the module a static finding is about: the recipes `--runtime` tries, best first.

Read with ast in the parent (nothing is imported here). For a site

* in a class (its methods included): the configured arguments, the file's module-level instances
  of it, its zero-argument factories, its call sites with literal arguments (in the file and its
  package), the same with the argument that takes the branch of `__init__` reaching the site, the
  defaults, then the test functions and the `__main__` block that build it (run until the model's
  first forward call);
* in a function: wherever the file uses that function (`net.apply(init)` on a module-level
  instance, a call from a class's `__init__`, a factory, a test function, the main block),
  followed through up to three calls;
* in module-level code: the module-level instances its statement names (in the main block: the
  block, run).

Each recipe is run in the worker with the site's lines watched (see `watch`): a recipe that did
not run the site cannot judge it, so a build that takes another branch never clears a finding.
"""

from __future__ import annotations

import ast
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from initlint.runtime import guards
from initlint.runtime.fileindex import (
    FUNCTION,
    FileIndex,
    callee,
    display,
    imports,
    package_files,
    required,
    site_rows,
    statement_names,
    targets,
)
from initlint.runtime.settings import RuntimeSettings

_DEPTH = 3  # calls followed from a function site to what uses it
_CALL_SITES = 12  # literal call sites of one class tried
_RECIPES = 16  # recipes of one class at most


@dataclass(frozen=True)
class Recipe:
    """One way of getting the module: see the module docstring for the kinds."""

    kind: str  # instance | build | call | run
    name: str = ""  # class or function (qualified); "" for the main block
    args: Tuple[str, ...] = ()  # positional literal arguments, as source text
    kwargs: Tuple[Tuple[str, str], ...] = ()  # keyword literal arguments, as source text
    candidates: Tuple[str, ...] = ()  # instance: module-level names, first nn.Module wins
    capture: str = ""  # run: the class whose instance is wanted ("" : the model it called first)
    origin: str = field(default="", compare=False)  # why: "the call at line 56" (the same build from two origins is one recipe)
    inputs: str = ""  # configured inputs (JSON of TargetOptions.inputs_request), "" for none

    @property
    def label(self) -> str:
        """How the recipe reads in a verdict: `LeNet(1)`, `test_lenet()`, `the __main__ block`."""
        if self.kind == "instance":
            return f"module-level {' / '.join(self.candidates)}"
        if self.kind == "build":
            return f"{self.name}({', '.join(list(self.args) + [f'{k}={v}' for k, v in self.kwargs])})"
        if self.kind == "call":
            return f"{self.name}()"
        return f"{self.name}()" if self.name else "the __main__ block"

    def request(self, ident: str, sites: Sequence[str]) -> Dict[str, Any]:
        """The worker's form of the recipe."""
        return {
            "id": ident, "kind": self.kind, "name": self.name, "args": list(self.args), "kwargs": [list(kv) for kv in self.kwargs],
            "candidates": list(self.candidates), "capture": self.capture, "label": self.label, "sites": list(sites),
            "inputs": json.loads(self.inputs) if self.inputs else None,
        }


@dataclass
class SitePlan:
    """The recipes for one static finding, best first, or why there are none."""

    rows: Tuple[int, ...]
    scope: str  # `class LeNet`, `function init_weights()`, `module-level code`
    recipes: List[Recipe] = field(default_factory=list)
    reason: str = ""  # when there is no recipe at all
    suggestion: str = ""  # the command to try when nothing reaches the site


# --- planning -----------------------------------------------------------------------------------


class Planner:
    """Plans the recipes of every site of one file."""

    def __init__(self, index: FileIndex, settings: Optional[RuntimeSettings] = None) -> None:
        self.index = index
        self.settings = settings or RuntimeSettings()
        self.rel = display(index.path)
        self._package: Optional[List[Tuple[str, FileIndex]]] = None

    def plan(self, row: int, watch_construction: bool = False) -> SitePlan:
        """The recipes for the site at `row`; `watch_construction`: only recipes that watch `__init__` (IL103)."""
        rows = site_rows(self.index, row)
        scopes = self.index.scopes_at(row)
        outer = next((i for i, s in enumerate(scopes) if not isinstance(s, ast.ClassDef)), len(scopes))
        if outer > 0:  # in a class reachable by name
            qualname = ".".join(s.name for s in scopes[:outer])  # type: ignore[attr-defined]
            plan = SitePlan(rows, f"class {qualname}")
            plan.recipes = self._class(qualname, row, 0)
            plan.suggestion = self._suggest_class(qualname, row)
            if not plan.recipes:
                init = self.index.init_of(qualname)
                required = [p.name for p in guards.parameters(init) if not p.has_default] if init is not None else []
                needs = f"{qualname} needs constructor arguments ({', '.join(required)}), and " if required else ""
                plan.reason = f"{needs}nothing in this file or its package builds {qualname} with literal arguments"
        elif scopes and scopes[0] is self.index.main:
            plan = SitePlan(rows, "the __main__ block")
            statement = self._top(row, self.index.main.body)
            names = statement_names(self.index, statement, row) if statement is not None else []
            plan.recipes = [Recipe("run", candidates=tuple(names), origin="the __main__ block")]
            plan.suggestion = f"move the model's construction into a zero-argument factory and run `initlint runtime {self.rel}::<factory>`"
        elif scopes:
            function = scopes[0].name  # type: ignore[attr-defined]
            plan = SitePlan(rows, f"function {function}()")
            plan.recipes = self._function(function, 0)
            if not plan.recipes:
                plan.reason = f"{function}() is never used in this file (no class, factory, test function, module-level code or __main__ block calls it)"
            plan.suggestion = (
                f"call {function}() on your model in a zero-argument factory (def make(): net = Net(); "
                f"{function}(net); return net) and run `initlint runtime {self.rel}::make`"
            )
        else:
            plan = SitePlan(rows, "module-level code")
            statement = self._top(row, self.index.tree.body)
            names = statement_names(self.index, statement, row) if statement is not None else []
            if names:
                plan.recipes = [Recipe("instance", candidates=tuple(names), origin="the module-level statement")]
            else:
                plan.reason = "no module-level variable in this statement can hold a module"
            plan.suggestion = "the runtime probes nn.Module instances: keep the weights in an nn.Module and name it in a module-level variable"
        if watch_construction:
            plan.recipes = [r for r in plan.recipes if r.kind != "instance"]
            if not plan.recipes and not plan.reason:
                plan.reason = "an init that touches nothing is seen only by watching the construction, and no construction of it could be watched"
        plan.recipes = list(dict.fromkeys(plan.recipes))
        return plan

    # --- a class --------------------------------------------------------------------------------

    def _class(self, qualname: str, row: int, depth: int) -> List[Recipe]:
        short = qualname.rsplit(".", 1)[-1]
        configured = self.settings.for_class(self.index.path, qualname)
        recipes: List[Recipe] = []
        inputs = json.dumps(configured.inputs_request()) if configured else ""
        if configured is not None:
            kwargs = tuple((k, repr(v)) for k, v in configured.args)
            recipes.append(Recipe("build", qualname, kwargs=kwargs, origin=configured.source, inputs=inputs))
        recipes += [Recipe("instance", candidates=(name,), origin=f"the module-level instance {name}", inputs=inputs) for name in self._instances(short)]
        recipes += [Recipe("call", name, origin=f"the factory {name}()", inputs=inputs) for name in self._factories(short)]
        tests, params, alias = self._branch(qualname, row)
        builds: List[Tuple[int, Recipe]] = []
        for origin, args, kwargs in self._call_sites(short):
            values = _bind(params, args, kwargs)
            verdict = guards.holds(tests, values, {p.name: p for p in params}, alias) if values is not None else None
            if verdict is False and values is not None:
                solved = guards.solve(tests, {p.name: p for p in params}, alias)
                if solved:  # the same call with the argument that takes the site's branch
                    merged = dict(values, **solved)
                    if guards.holds(tests, merged, {p.name: p for p in params}, alias) is not False:
                        builds.append((1, self._build(qualname, merged, f"{origin}, with {_spell(solved)} to take the branch", inputs)))
                continue
            positional = tuple(repr(a) for a in args) if values is None else ()
            keywords = tuple((k, repr(v)) for k, v in (kwargs.items() if values is None else values.items()))
            builds.append((0 if verdict else 2, Recipe("build", qualname, positional, keywords, origin=origin, inputs=inputs)))
        required = [p.name for p in params if not p.has_default]
        solved = guards.solve(tests, {p.name: p for p in params}, alias)
        if not [r for r in required if r not in solved]:
            if guards.holds(tests, {}, {p.name: p for p in params}, alias) is not False:
                builds.append((3, Recipe("build", qualname, origin="the defaults", inputs=inputs)))
            changed = {k: v for k, v in solved.items() if not any(p.name == k and p.literal_default and p.default == v for p in params)}
            if changed:
                builds.append((3, self._build(qualname, solved, f"the defaults, with {_spell(changed)} to take the branch", inputs)))
        recipes += [r for _, r in sorted(builds, key=lambda item: item[0])][: _CALL_SITES]
        recipes += [Recipe("run", name, capture=qualname, origin=f"the test function {name}()") for name in self._tests(short)]
        if self.index.main is not None and self._uses(self.index.main, short):
            recipes.append(Recipe("run", capture=qualname, origin="the __main__ block"))
        if depth < _DEPTH:  # built by another class, or by a function, with arguments only known there
            for call, scopes in self.index.calls:
                if callee(call) == short and scopes and scopes[0] is not self.index.main:
                    recipes += self._reference_scope(scopes, call.lineno, depth)
        return list(dict.fromkeys(recipes))[:_RECIPES]

    def _build(self, qualname: str, values: Dict[str, Any], origin: str, inputs: str) -> Recipe:
        return Recipe("build", qualname, kwargs=tuple((k, repr(v)) for k, v in values.items()), origin=origin, inputs=inputs)

    def _branch(self, qualname: str, row: int) -> Tuple[List[Tuple[ast.expr, bool]], List[guards.Param], Dict[str, str]]:
        """The tests guarding the site (through the methods `__init__` calls to reach it), and __init__'s parameters."""
        init = self.index.init_of(qualname)
        if init is None:
            return [], [], {}
        params = guards.parameters(init)
        alias = guards.aliases(init, [p.name for p in params])
        node = self.index.classes[qualname]
        method = next((f for f in node.body if isinstance(f, FUNCTION) and f.lineno <= row <= (f.end_lineno or f.lineno)), None)
        if method is None or method is init:
            return guards.conditions(init, row), params, alias
        tests = guards.conditions(method, row)
        path = _call_path(node, init, method.name)
        for function, call_row in path:
            tests = guards.conditions(function, call_row) + tests
        return tests, params, alias

    def _instances(self, short: str) -> List[str]:
        """Module-level names assigned a construction of the class (`net = Net(...)`, `net = Net().to(d)`)."""
        found = []
        for node in self.index.tree.body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                calls = [c for c in ast.walk(node.value) if isinstance(c, ast.Call) and callee(c) == short]
                names = [t.id for t in targets(node) if isinstance(t, ast.Name)]
                if calls and names:
                    found.extend(names)
        return found

    def _factories(self, short: str) -> List[str]:
        """Module-level functions without required arguments that build the class and return something."""
        found = []
        for name, function in self.index.functions.items():
            if name.startswith("test") or required(function):
                continue
            returns = any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(function))
            if returns and self._uses(function, short):
                found.append(name)
        return found

    def _tests(self, short: str) -> List[str]:
        return [n for n, f in self.index.functions.items() if n.startswith("test") and not required(f) and self._uses(f, short)]

    @staticmethod
    def _uses(node: ast.AST, short: str) -> bool:
        return any(isinstance(c, ast.Call) and callee(c) == short for c in ast.walk(node))

    def _call_sites(self, short: str) -> List[Tuple[str, List[Any], Dict[str, Any]]]:
        """(origin, positional, keyword) literal arguments of the calls of the class, here and in the package."""
        found = []
        for index in [self.index] + [i for _, i in self._package_indexes(short)]:
            where = "" if index is self.index else f" of {display(index.path)}"
            for call, scopes in index.calls:
                if callee(call) != short or any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                    continue
                names = dict(index.constants)
                function = next((s for s in reversed(scopes) if isinstance(s, FUNCTION)), None)
                if function is not None:
                    names.update((p.name, p.default) for p in guards.parameters(function, method=False) if p.literal_default)
                args = [guards.literal(a, names) for a in call.args]
                kwargs = {k.arg: guards.literal(k.value, names) for k in call.keywords}
                if all(guards.known(v) for v in args + list(kwargs.values())):
                    found.append((f"the call at line {call.lineno}{where}", args, kwargs))
        return found

    def _package_indexes(self, short: str) -> List[Tuple[str, FileIndex]]:
        """Other files of the folder or package that import the class from this file and call it."""
        if self._package is None:
            self._package = []
            stem = os.path.splitext(os.path.basename(self.index.path))[0]
            for path in package_files(self.index.path):
                try:
                    with open(path, encoding="utf-8") as handle:
                        text = handle.read()
                    if stem not in text:
                        continue
                    self._package.append((path, FileIndex(path, ast.parse(text, filename=path))))
                except (OSError, SyntaxError, ValueError, UnicodeDecodeError, RecursionError):
                    continue
        stem = os.path.splitext(os.path.basename(self.index.path))[0]
        return [(p, i) for p, i in self._package if imports(i.tree, stem, short) and any(callee(c) == short for c, _ in i.calls)]

    # --- a function -------------------------------------------------------------------------------

    def _function(self, name: str, depth: int) -> List[Recipe]:
        """Recipes reaching a module-level function: wherever the file uses it."""
        recipes: List[Recipe] = []
        for ref, scopes in self.index.names:
            if ref.id != name:
                continue
            inside = [s for s in scopes if not (isinstance(s, FUNCTION) and s.name == name)]  # type: ignore[attr-defined]
            if len(inside) != len(scopes):
                continue  # a recursive call inside the function itself
            recipes += self._reference(ref, scopes, depth)
        return list(dict.fromkeys(recipes))

    def _reference_scope(self, scopes: Tuple[ast.AST, ...], row: int, depth: int) -> List[Recipe]:
        """Recipes of the class or function (not a test or a factory: those are tried already) at `row`."""
        outer = next((i for i, s in enumerate(scopes) if not isinstance(s, ast.ClassDef)), len(scopes))
        if outer > 0:
            return self._class(".".join(s.name for s in scopes[:outer]), row, depth + 1)  # type: ignore[attr-defined]
        name = scopes[0].name  # type: ignore[attr-defined]
        if name.startswith("test") or not required(scopes[0]):
            return []
        return self._function(name, depth + 1)

    @staticmethod
    def _top(row: int, body: List[ast.stmt]) -> Optional[ast.stmt]:
        """The statement of `body` spanning `row` (a whole `with` or `for` block of module-level code)."""
        return next((s for s in body if s.lineno <= row <= (s.end_lineno or s.lineno)), None)

    def _reference(self, ref: ast.Name, scopes: Tuple[ast.AST, ...], depth: int) -> List[Recipe]:
        if not scopes:
            statement = self._top(ref.lineno, self.index.tree.body)
            names = statement_names(self.index, statement, ref.lineno) if statement is not None else []
            return [Recipe("instance", candidates=tuple(names), origin=f"the module-level statement at line {ref.lineno}")] if names else []
        first = scopes[0]
        if first is self.index.main:
            statement = self._top(ref.lineno, self.index.main.body)
            names = statement_names(self.index, statement, ref.lineno) if statement is not None else []
            return [Recipe("run", candidates=tuple(names), origin="the __main__ block")]
        outer = next((i for i, s in enumerate(scopes) if not isinstance(s, ast.ClassDef)), len(scopes))
        if outer > 0:
            qualname = ".".join(s.name for s in scopes[:outer])  # type: ignore[attr-defined]
            return self._class(qualname, ref.lineno, depth + 1) if depth < _DEPTH else []
        name = first.name  # type: ignore[attr-defined]
        if name.startswith("test") and not required(first):
            return [Recipe("run", name, origin=f"the test function {name}()")]
        out = []
        if not required(first) and any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(first)):
            out.append(Recipe("call", name, origin=f"the factory {name}()"))
        if depth < _DEPTH:
            out += self._function(name, depth + 1)
        return out

    # --- what to tell the user ----------------------------------------------------------------------

    def _suggest_class(self, qualname: str, row: int) -> str:
        tests, params, alias = self._branch(qualname, row)
        solved = guards.solve(tests, {p.name: p for p in params}, alias)
        values = {k: v for k, v in solved.items() if not any(p.name == k and p.literal_default and p.default == v for p in params)}
        for p in params:
            if not p.has_default and p.name not in values:
                values[p.name] = _placeholder(p)
        arguments = f" --args '{json.dumps(values, default=str)}'" if values else ""
        return f"initlint runtime {self.rel}::{qualname}{arguments}"


def _call_path(node: ast.ClassDef, init: ast.FunctionDef, target: str) -> List[Tuple[ast.AST, int]]:
    """(function, row of the call) hops from `__init__` to method `target` (`self.m()`, `self.apply(self.m)`)."""
    methods = {f.name: f for f in node.body if isinstance(f, FUNCTION)}
    frontier: List[Tuple[ast.AST, List[Tuple[ast.AST, int]]]] = [(init, [])]
    seen = {"__init__"}
    while frontier:
        function, path = frontier.pop(0)
        for sub in ast.walk(function):
            if not isinstance(sub, ast.Attribute) or not isinstance(sub.value, ast.Name) or sub.value.id != "self":
                continue
            if sub.attr in methods and sub.attr not in seen:
                hop = path + [(function, sub.lineno)]
                if sub.attr == target:
                    return hop
                seen.add(sub.attr)
                if len(hop) < _DEPTH:
                    frontier.append((methods[sub.attr], hop))
    return []


def _bind(params: List[guards.Param], args: List[Any], kwargs: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """Call-site arguments as keyword values of `__init__` (None when the signature is unknown or they do not fit)."""
    if not params and (args or kwargs):
        return None
    if len(args) > len(params) or any(k not in {p.name for p in params} for k in kwargs):
        return None
    values = {p.name: a for p, a in zip(params, args)}
    values.update(kwargs)
    return values


def _spell(values: Dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in values.items())


def _placeholder(param: guards.Param) -> Any:
    """A value for a required argument in a suggested command (to be replaced by a real one)."""
    kind = param.annotation.lower()
    if "bool" in kind:
        return True
    if "float" in kind:
        return 1.0
    if "str" in kind:
        return "..."
    return 8 if "int" in kind or not kind else None
