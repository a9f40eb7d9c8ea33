"""libcst's `parse_module`, without validating every node as the parser builds it.

Every libcst node's `__post_init__` calls its `_validate()` (whitespace matches a regular
expression, brackets pair up...): checks meant for trees built by hand. A tree the native parser
builds from source is valid by construction (libcst's own comment there: "It might make more
sense to move validation work into the visitor, which would allow us to avoid validating the tree
when parsing a file"), and the checks are a quarter of the parse on real code.

`parse_module` switches them off for the duration of one parse, and only where libcst's
`__post_init__` is still the plain call of `_validate` that this relies on; nodes built anywhere
else (the fixes, libcst's own transforms) are validated as always. Several threads parsing at
once stay correct: the hook is always put back to libcst's own, and a node validated or not is
the same node. tests/test_parsing.py checks the trees are equal to libcst's, and the hook restored.
"""

from __future__ import annotations

import libcst as cst

_VALIDATING = cst.CSTNode.__dict__.get("__post_init__")


def _skip(self: cst.CSTNode) -> None:
    """A parsed node: valid by construction."""


def _only_validates(hook) -> bool:
    code = getattr(hook, "__code__", None)
    return code is not None and code.co_names == ("_validate",) and code.co_argcount == 1


_SAFE = _only_validates(_VALIDATING)


def parse_module(text: str) -> cst.Module:
    """`libcst.parse_module(text)`, raising what it raises."""
    if not _SAFE:
        return cst.parse_module(text)
    cst.CSTNode.__post_init__ = _skip  # type: ignore[method-assign]
    try:
        return cst.parse_module(text)
    finally:
        cst.CSTNode.__post_init__ = _VALIDATING  # type: ignore[method-assign]


_LAST_CPYTHON: tuple = (None, None)  # (text, CPython's tree of it): one entry, replaced whole


def cpython_tree(text: str):
    """`ast.parse(text)` with CPython's SyntaxWarnings silenced, raising what it raises. The last
    answer is kept: a file with findings asks twice for the same text (where its findings are,
    and whether CPython accepts all of it)."""
    global _LAST_CPYTHON
    last = _LAST_CPYTHON
    if last[0] is text:
        return last[1]
    import ast
    import warnings

    with warnings.catch_warnings():  # `1if x`, "\d": they would reach stderr as `<unknown>:4:`
        warnings.simplefilter("ignore")
        tree = ast.parse(text)
    _LAST_CPYTHON = (text, tree)
    return tree
