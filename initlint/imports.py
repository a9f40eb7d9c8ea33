"""A light per-file import table: local names -> qualified names, without scope analysis.

Full scope analysis (libcst's QualifiedNameProvider) costs several parses' worth of time;
linting init code needs only to know what `nn`, `init`, `I` or `c` stand for.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Optional

import libcst as cst

# Modules that re-export torch.nn.init under another name; more come from `extend-init-modules`.
_INIT_ALIASES = ("torch.nn.init",)


def dotted_name(node: cst.BaseExpression) -> Optional[str]:
    """`a.b.c` for a chain of Name/Attribute nodes, else None. (Exact types: libcst's node
    classes are ABCs, whose isinstance costs several times more, and parsed trees hold no
    subclasses of them.)"""
    if type(node) is _NAME:
        return node.value  # type: ignore[attr-defined]
    parts = []
    while type(node) is _ATTRIBUTE:
        parts.append(node.attr.value)  # type: ignore[attr-defined]
        node = node.value  # type: ignore[attr-defined]
    if type(node) is _NAME:
        parts.append(node.value)  # type: ignore[attr-defined]
        return ".".join(reversed(parts))
    return None


_NAME, _ATTRIBUTE = cst.Name, cst.Attribute


def _module_name(node: cst.BaseExpression) -> str:
    name = dotted_name(node)
    return name or ""


class ImportTable:
    """Maps the names a file imports to the qualified names they stand for."""

    def __init__(self, extra_init_modules: Iterable[str] = ()) -> None:
        self.names: Dict[str, str] = {}
        self.init_modules = tuple(_INIT_ALIASES) + tuple(m.rstrip(".") for m in extra_init_modules)
        # Modules imported with `*`, in order: torch's bind the names they export; another
        # module may bind anything, and the usual names (`nn`, `F`, `init`) are read as torch's.
        self.stars: List[str] = []

    def add(self, stmt: cst.CSTNode) -> None:
        """Record the names bound by an `import` or `from ... import` statement."""
        if isinstance(stmt, cst.Import):
            for alias in stmt.names:
                full = _module_name(alias.name)
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.names[alias.asname.name.value] = full
                else:
                    head = full.split(".", 1)[0]
                    self.names[head] = head
        elif isinstance(stmt, cst.ImportFrom):
            if isinstance(stmt.names, cst.ImportStar):
                star = _module_name(stmt.module) if stmt.module is not None else ""
                self.stars.append("." * len(stmt.relative) + star)
                return
            module = _module_name(stmt.module) if stmt.module is not None else ""
            if stmt.relative:
                # `from ... import initialization`: kept as `...initialization`, matched by its tail
                module = "." * len(stmt.relative) + module
            for alias in stmt.names:
                name = _module_name(alias.name)
                local = name
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                self.names[local] = f"{module}.{name}" if module and not module.endswith(".") else f"{module}{name}"

    def resolve(self, node: cst.BaseExpression, stars: bool = True) -> Optional[str]:
        """The canonical qualified name of `node`, or None when its head is not imported (with
        `stars=False`, not by a star import either)."""
        name = dotted_name(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        full = self.names.get(head)
        if full is None:
            full = self._starred(head) if stars else None
            if full is None:
                return None
        qualified = f"{full}.{rest}" if rest else full
        return self.canonical(qualified)

    def _starred(self, head: str) -> Optional[str]:
        """What a name no import statement binds stands for through the file's star imports."""
        if not self.stars:
            return None
        from initlint.torch_api import CONVENTIONAL, STAR_EXPORTS  # (light; only for star imports)

        for module in reversed(self.stars):  # the last star import wins, as at run time
            exported = STAR_EXPORTS.get(self.canonical(module) if module.startswith("torch") else module)
            if exported is not None:
                if head in exported:
                    return f"{module}.{head}"
            elif head in CONVENTIONAL:
                return CONVENTIONAL[head]  # `from .common import *` and then `nn.Linear`: torch's, by convention
        return None

    def canonical(self, qualified: str) -> str:
        """Fold aliases of torch.nn.init (and configured wrappers) and torch.nn submodules."""
        for module in self.init_modules:
            if qualified.startswith(module + "."):
                return "torch.nn.init." + qualified[len(module) + 1:]
            if qualified.startswith(".") and module not in _INIT_ALIASES:
                # a relative import names a configured module by its tail: `...initialization.x`
                tail = qualified.lstrip(".")
                for i in range(module.count(".") + 1):
                    suffix = module.split(".", i)[-1]
                    if tail.startswith(suffix + ".") and suffix:
                        return "torch.nn.init." + tail[len(suffix) + 1:]
        if qualified.startswith("torch.nn.modules."):
            # torch.nn.modules.linear.Linear -> torch.nn.Linear
            return "torch.nn." + qualified.rsplit(".", 1)[-1]
        if qualified.startswith("torch.nn.parameter."):
            return "torch.nn." + qualified.rsplit(".", 1)[-1]
        if qualified.startswith("torch.functional."):
            return "torch." + qualified.rsplit(".", 1)[-1]
        return qualified
