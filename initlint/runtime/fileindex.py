"""One file read with ast, indexed once for the planner: definitions, calls, names, constants (no imports, no torch)."""

from __future__ import annotations

import ast
import os
from typing import Any, Dict, Iterable, List, Optional, Tuple

from initlint.runtime import guards

FUNCTION = (ast.FunctionDef, ast.AsyncFunctionDef)
_PACKAGE_FILES = 300  # files of the package searched for call sites


class FileIndex:
    """What the planner needs to know about one file: definitions, calls, references, constants."""

    def __init__(self, path: str, tree: ast.Module) -> None:
        self.path = path
        self.tree = tree
        self.classes: Dict[str, ast.ClassDef] = {}
        self.functions: Dict[str, ast.AST] = {}
        self.main: Optional[ast.If] = None
        self.constants: Dict[str, Any] = {}
        self.calls: List[Tuple[ast.Call, Tuple[ast.AST, ...]]] = []  # each call with its enclosing scopes
        self.names: List[Tuple[ast.Name, Tuple[ast.AST, ...]]] = []  # each name read, likewise
        self.assigned: set = set()  # module-level names
        self._index()

    def _index(self) -> None:
        counts: Dict[str, int] = {}
        for node in self.tree.body:
            if isinstance(node, FUNCTION):
                self.functions[node.name] = node
            elif is_main(node):
                self.main = node
        for node in module_statements(self.tree.body):
            for target in targets(node):
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        self.assigned.add(name.id)
                        counts[name.id] = counts.get(name.id, 0) + 1
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                value = guards.literal(node.value, self.constants)
                if guards.known(value):
                    self.constants[node.targets[0].id] = value
        for name in [n for n, c in counts.items() if c > 1 and n in self.constants]:
            del self.constants[name]  # reassigned: not a constant
        self._walk(self.tree, ())

    def _walk(self, node: ast.AST, scopes: Tuple[ast.AST, ...]) -> None:
        for child in ast.iter_child_nodes(node):
            inner = scopes
            if isinstance(child, ast.ClassDef):
                if all(isinstance(s, ast.ClassDef) for s in scopes):
                    self.classes[".".join([s.name for s in scopes] + [child.name])] = child  # type: ignore[attr-defined]
                inner = scopes + (child,)
            elif isinstance(child, FUNCTION) or (child is self.main):
                inner = scopes + (child,)
            if isinstance(child, ast.Call):
                self.calls.append((child, scopes))
            elif isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load):
                self.names.append((child, scopes))
            self._walk(child, inner)

    def statement(self, row: int) -> Optional[ast.stmt]:
        """The innermost statement spanning `row`."""
        found: Optional[ast.stmt] = None
        body: List[ast.stmt] = list(self.tree.body)
        while True:
            node = next((s for s in body if s.lineno <= row <= (s.end_lineno or s.lineno)), None)
            if node is None:
                return found
            found = node
            body = [s for f in ("body", "orelse", "finalbody") for s in getattr(node, f, []) if isinstance(s, ast.stmt)]
            body += [s for h in getattr(node, "handlers", []) for s in h.body]

    def scopes_at(self, row: int) -> Tuple[ast.AST, ...]:
        """The classes, functions and main block containing `row`, outermost first."""
        chain: List[ast.AST] = []
        body: List[ast.stmt] = list(self.tree.body)
        while True:
            node = next((s for s in body if s.lineno <= row <= (s.end_lineno or s.lineno)), None)
            if node is None:
                return tuple(chain)
            if isinstance(node, (ast.ClassDef,) + FUNCTION) or node is self.main:
                chain.append(node)
            body = [s for f in ("body", "orelse", "finalbody") for s in getattr(node, f, []) if isinstance(s, ast.stmt)]
            body += [s for h in getattr(node, "handlers", []) for s in h.body]

    def init_of(self, qualname: str, seen: Optional[set] = None) -> Optional[ast.FunctionDef]:
        """The `__init__` a class runs: its own, else a base class's defined in this file."""
        seen = seen or set()
        node = self.classes.get(qualname)
        if node is None or qualname in seen:
            return None
        seen.add(qualname)
        own = next((f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"), None)
        if own is not None:
            return own
        for base in node.bases:
            found = self.init_of(ast.unparse(base), seen)
            if found is not None:
                return found
        return None


def module_statements(body: List[ast.stmt]) -> Iterable[ast.stmt]:
    """Statements run by module-level code: inside `with`, `for`, `if`, `try` too, not inside definitions."""
    for node in body:
        if isinstance(node, (ast.ClassDef,) + FUNCTION):
            continue
        yield node
        for name in ("body", "orelse", "finalbody"):
            yield from module_statements([s for s in getattr(node, name, []) if isinstance(s, ast.stmt)])
        for handler in getattr(node, "handlers", []):
            yield from module_statements(handler.body)


def is_main(node: ast.AST) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare) or len(node.test.comparators) != 1:
        return False
    sides = [node.test.left, node.test.comparators[0]]
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and any(
        isinstance(s, ast.Constant) and s.value == "__main__" for s in sides
    )


def targets(node: ast.stmt) -> List[ast.AST]:
    if isinstance(node, ast.Assign):
        return list(node.targets)
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        return [node.target]
    if isinstance(node, (ast.For, ast.AsyncFor, ast.With)):
        return [node.target] if isinstance(node, (ast.For, ast.AsyncFor)) else [i.optional_vars for i in node.items if i.optional_vars]
    return []


def callee(call: ast.Call) -> str:
    """The last name of what is called: `Net` for `Net(...)`, `models.Net(...)`, `self.Net(...)`."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def site_rows(index: FileIndex, row: int) -> Tuple[int, ...]:
    """The lines whose running means the site ran: a simple statement's lines, a compound one's header."""
    node = index.statement(row)
    if node is None:
        return (row,)
    children = [s for f in ("body", "orelse", "finalbody") for s in getattr(node, f, []) if isinstance(s, ast.stmt)]
    end = (min(s.lineno for s in children) - 1) if children else (node.end_lineno or node.lineno)
    return tuple(range(node.lineno, max(node.lineno, end) + 1))


def imports(tree: ast.Module, stem: str, short: str) -> bool:
    """Whether a file imports `short` from the module `stem` (`from .model import Net`, `from model import *`)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[-1] == stem and any(a.name in (short, "*") for a in node.names):
                return True
            if node.module is None and any(a.name == stem for a in node.names):
                return True  # `from . import model`, then model.Net(...)
        elif isinstance(node, ast.Import) and any(a.name.split(".")[-1] == stem for a in node.names):
            return True  # `import model`, then model.Net(...)
    return False


def required(function: ast.AST) -> bool:
    args = function.args  # type: ignore[attr-defined]
    positional = list(args.posonlyargs) + list(args.args)
    return len(positional) > len(args.defaults) or any(d is None for d in args.kw_defaults)


def statement_names(index: FileIndex, statement: ast.stmt, row: int) -> List[str]:
    """Module-level names used in `statement` (names on the flagged line first)."""
    names = [n for n in ast.walk(statement) if isinstance(n, ast.Name) and n.id in index.assigned]
    names.sort(key=lambda n: (n.lineno != row, n.lineno, n.col_offset))
    return list(dict.fromkeys(n.id for n in names))


def display(path: str) -> str:
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def package_files(path: str) -> Iterable[str]:
    """The other .py files of the file's folder, and of its package when it is in one."""
    folder = os.path.dirname(os.path.abspath(path))
    root = folder
    while os.path.isfile(os.path.join(root, "__init__.py")) and os.path.dirname(root) != root:
        root = os.path.dirname(root)
    count = 0
    for current, dirs, files in os.walk(folder if root == folder else root):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")) and d not in ("venv", "node_modules", "build", "dist"))
        if root == folder and current != folder:
            break  # not a package: the file's own folder only
        for name in sorted(files):
            full = os.path.join(current, name)
            if name.endswith(".py") and os.path.abspath(full) != os.path.abspath(path):
                count += 1
                if count > _PACKAGE_FILES:
                    return
                yield full
