"""The screen's seeds: where a site of IL001-IL003/IL005 may be, and which `__init__`s IL004 may
report in (see `initlint.screen` for the argument)."""

from __future__ import annotations

import re
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from initlint import torch_api
from initlint.screen import (
    INIT_FUNCTIONS,
    CONSTRUCTORS,
    CONSTRUCTOR_METHODS,
    SITE_METHODS,
    REPEAT_METHODS,
    REPEAT_FUNCTIONS,
    PARAMETER_NAMES,
    WALKS,
    MATMUL_WORDS,
    RANDOM_WORDS,
    TRAINABLE_WORDS,
    _SLICE,
    _WHOLE_SLICE_TARGET,
)
from initlint.textscan import (
    ANNOTATION,
    Lazy,
    SPACE,
    Unit,
    assigned,
    bindings,
    bisect_units,
    called,
    canonical,
    depth,
    dotted_before,
    exact,
    has_word,
    import_statements,
    is_word_char,
    logical_lines,
    merged,
    names_a_shape,
    receiver,
    statement_starts,
    units,
    words,
)

# Fact kind -> the spellings a unit needs to add a fact of that kind (None: an assignment).
NEEDS: Dict[str, Optional[Sequence[str]]] = {
    "bindings": None,
    "instances": None,
    "trainables": TRAINABLE_WORDS,
    "random_trainables": TRAINABLE_WORDS,
    "randomised": RANDOM_WORDS,
    "randomise_all": RANDOM_WORDS,
    "applied": ("apply",),
    "matmul_operands": MATMUL_WORDS,
    "matmuls": MATMUL_WORDS,
}



# ---- anchors --------------------------------------------------------------------------------
_WEIGHT_ATTRIBUTE = Lazy(r"\.[\s\\]*weight\w*(?:[\s\\]*\.[\s\\]*data)?[\s\\)]*(?::[^=]*)?=(?!=)")
_WEIGHT_TARGET = Lazy(r"\.[\s\\]*(?:data|weight|bias)[\s\\)]*(?::[^=]*)?=(?!=)")
_NUMBER_VALUE = Lazy(r"=(?!=)[\s\\(+-]*(?:\d|\.\d|True\b|False\b)")
_BARE_VALUE = Lazy(r"=(?!=)[\s\\(]*((?:\w+[\s\\]*\.[\s\\]*)*\w+)[\s\\)]*$")
_FIRST_ARGUMENT = Lazy(r"[\s\\]*\([\s\\(]*((?:\w+[\s\\]*\.[\s\\]*)*\w+)")


class _File:
    """One file's code-only text, units and import table, and what the anchor tests share."""

    def __init__(self, source: str, code: str, init_modules: Sequence[str]) -> None:
        self.source = source
        self.code = code
        self.top = statement_starts(code)
        self._units: Optional[List[Unit]] = None
        self.starts: List[int] = []
        self.statements = import_statements(code)  # (offset, what it binds), per import
        self.table = merged(self.statements)
        self.init_modules = tuple(m.rstrip(".") for m in init_modules)
        self._lines: Dict[int, List[int]] = {}
        self._imports: Optional[Dict[int, Optional[Set[str]]]] = None
        self._needs: Dict[str, Optional[Sequence[str]]] = {}
        self.walkers: Set[int] = set()
        self.created: Set[str] = set()  # last names bound to what may be a constant matrix
        self._products: Optional[List[Set[str]]] = None
        self._trained: Optional[Tuple[Set[Tuple[int, int]], Set[str]]] = None
        self.aliases: Dict[str, Set[str]] = {}
        for local, bound in (self.table or {}).items():
            for qualified in bound:
                last = canonical(qualified, self.init_modules).rsplit(".", 1)[-1]
                if local != last:
                    self.aliases.setdefault(last, set()).add(local)

    @property
    def units(self) -> List[Unit]:
        """The file's units (computed on first use: most files never need them)."""
        if self._units is None:
            self._units = units(self.code, self.top)
            self.starts = [u.start for u in self._units]
        return self._units

    def import_units(self) -> Dict[int, Optional[Set[str]]]:
        """Top-level units with an import -> the names they bind (None: not understood)."""
        if self._imports is None:
            self._imports = {}
            units = self.units
            within: Dict[int, List] = {}
            for statement in self.statements:
                within.setdefault(self.unit_at(statement[0]), []).append(statement)
            for i, statements in within.items():
                if units[i].kind == "module":
                    table = merged(statements)
                    self._imports[i] = None if table is None else set(table)
        return self._imports

    def needs(self, kind: str) -> Optional[Sequence[str]]:
        """The spellings a unit needs to add a fact of `kind` (`NEEDS`, with this file's aliases)."""
        if kind in self._needs:
            return self._needs[kind]
        base = NEEDS[kind]
        if base is None:
            return None
        extra = set()
        for last, locals_ in self.aliases.items():
            if last in base or any(last.endswith(n) for n in base if n.endswith("_") or kind.startswith("random")):
                extra |= locals_
        found = self._needs[kind] = tuple(base) + tuple(extra)
        return found

    def unit_at(self, offset: int) -> int:
        if self._units is None:
            self.units  # noqa: B018 - computes the starts
        return bisect_units(self.starts, offset)

    def spellings(self, names: Iterable[str]) -> Set[str]:
        """Names and the local aliases that imports give them."""
        out = set(names)
        for name in list(out):
            out |= self.aliases.get(name, set())
        return out

    def qualified(self, p: int, word: str) -> Optional[List[str]]:
        """The canonical qualified names the name at `p` (with its receiver) may resolve to
        through the import table, one per import of its head; None when the receiver or the
        table is not read with certainty."""
        chain = receiver(self.code, p)
        if chain is None or self.table is None:
            return None
        head, rest = (chain[0], chain[1:] + [word]) if chain else (word, [])
        return [canonical(".".join([bound, *rest]), self.init_modules) for bound in self.table.get(head, ())]

    def resolves(self, p: int, word: str, wanted) -> bool:
        """Whether the name at `p` may resolve to a qualified name for which `wanted` holds; an
        unknown receiver or import table says yes."""
        names = self.qualified(p, word)
        return names is None or any(wanted(name) for name in names)

    def statement_bounds(self, p: int) -> Tuple[int, int]:
        """(start, end) of the logical line that holds offset `p`."""
        index = bisect_units(self.top, p)
        start = self.top[index]
        end = self.top[index + 1] if index + 1 < len(self.top) else len(self.code)
        lines = self._lines.get(index)
        if lines is None:
            lines = self._lines[index] = logical_lines(self.code, start, end)
        i = bisect_units(lines, p)
        return lines[i], lines[i + 1] if i + 1 < len(lines) else end

    def products(self) -> List[Set[str]]:
        """The words of each statement that may hold a matrix product: a word of `MATMUL_WORDS`
        (or a local alias of one), or an `@` that does not start the line (a decorator's)."""
        if self._products is None:
            code = self.code
            seen: Set[Tuple[int, int]] = set()
            self._products = []
            for word in self.needs("matmuls") or ():
                for p in exact(code, word) if word != "@" else _at_signs(code):
                    bounds = self.statement_bounds(p)
                    if bounds in seen or (word == "@" and not code[bounds[0]:p].strip(SPACE)):
                        continue
                    seen.add(bounds)
                    self._products.append(set(_WORD.findall(code, *bounds)))
        return self._products

    def trained(self) -> Tuple[Set[Tuple[int, int]], Set[str]]:
        """The statements that make something trainable, and the last names they bind ("" when a
        `register_parameter` names them in strings: any name may be one)."""
        if self._trained is None:
            statements: Set[Tuple[int, int]] = set()
            names: Set[str] = set()
            for word in self.needs("trainables") or ():
                for p in trainable_words(self.code, word):
                    bounds = self.statement_bounds(p)
                    statements.add(bounds)
                    names |= {t.rsplit(".", 1)[-1] for t in _targets(self, *bounds)}
            if "register_parameter" in self.code:
                names.add("")
            self._trained = (statements, names)
        return self._trained

    def statement(self, p: int) -> str:
        """The code-only text of the logical line that holds offset `p`."""
        start, end = self.statement_bounds(p)
        return self.code[start:end]


def anchors(file: _File, why: Optional[Dict[int, List[str]]] = None) -> Set[int]:
    """Units that may hold a site (IL001-IL003, IL005) or be the `__init__` of an IL004 walk."""
    code = file.code
    positions: List[Tuple[int, str]] = []

    def add(p: int, reason: str) -> None:
        positions.append((p, reason))

    parameters = file.spellings(PARAMETER_NAMES)
    trainable = (*parameters, "requires_grad", "register_parameter")
    trainable_names = _trainable_names(file, trainable)
    ctor_names = file.spellings(CONSTRUCTORS | CONSTRUCTOR_METHODS)

    # nn.init's constant functions, where the call may resolve into torch.nn.init.
    init_names = file.spellings(INIT_FUNCTIONS)
    is_init = lambda q: q.startswith("torch.nn.init.") and q.rsplit(".", 1)[-1] in INIT_FUNCTIONS  # noqa: E731
    for p, word in _occurrences(code, init_names):
        if file.init_modules or file.resolves(p, word, is_init):
            add(p, "init")
    # Constant constructors, in a statement that makes a parameter or writes a weight.
    for p, word in _occurrences(code, ctor_names):
        statement = file.statement(p)
        if any(t in statement for t in trainable) or _WEIGHT_TARGET.search(statement):
            if _is_constructor(file, p, word):
                matrix = _may_be_matrix(code, word, p + len(word))
                if _never_reported(file, p, matrix):
                    continue
                add(p, "constructor")
                if matrix:
                    file.created |= assigned(code[file.statement_bounds(p)[0]:p])
    # Whole-slice writes of a literal number (`w[:] = 1.0`, `w[...] = 0`, `w[:, :] = 0`).
    for match in _SLICE.finditer(code):
        if _WHOLE_SLICE_TARGET.match(code, match.start()) and _NUMBER_VALUE.search(file.statement(match.start())):
            add(match.start(), "slice")
    # Repeated rows put into a parameter (a `Parameter(...)`, a `.weight`, a trainable name, by
    # assignment, `.copy_()` or `register_parameter`), directly or through a name bound to them.
    repeat_names = file.spellings(REPEAT_FUNCTIONS) | REPEAT_METHODS
    is_repeat = lambda q: q in torch_api.REPEAT_FUNCTIONS  # noqa: E731
    repeats = False
    for p, word in _occurrences(code, repeat_names):
        if word in REPEAT_METHODS and receiver(code, p) != [] or file.resolves(p, word, is_repeat):
            repeats = True
            if _writes_tensor(file.statement(p), trainable_names, parameters):
                add(p, "repeat")
    if repeats:
        for p, name in _passed_names(file, trainable_names, parameters):
            if _bound_to(file, name, repeat_names, 0):
                add(p, "repeated name")
    # .fill_(), .zero_(), .copy_() on a receiver the import table does not resolve.
    for p, word in _occurrences(code, SITE_METHODS):
        chain = receiver(code, p)
        if chain == []:
            continue
        if word != "copy_" or _copy_may_be_site(file, p, chain, ctor_names, repeat_names if repeats else set(), trainable_names):
            add(p, word)
    file.walkers = _walkers(file)
    found: Set[int] = set(file.walkers)
    for p, reason in positions:
        index = file.unit_at(p)
        found.add(index)
        if why is not None:
            why.setdefault(index, []).append(f"{reason}: {' '.join(code[max(0, p - 30):p + 30].split())}")
    if why is not None:
        for index in file.walkers:
            why.setdefault(index, []).append("IL004 walk reachable")
    return found


def _occurrences(code: str, names: Iterable[str]):
    """(offset, word) of every whole-word occurrence of any of `names`."""
    names = set(names)
    ordered = sorted(names, key=len)
    stems: List[str] = []
    for name in ordered:
        if not any(name.startswith(s) for s in stems):
            stems.append(name)
    for stem in stems:
        for p, word in words(code, stem):
            if word in names:
                yield p, word


def _may_be_matrix(code: str, word: str, after: int) -> bool:
    """Whether the constructor `word` called at `after` (just past its name) may make a tensor of
    two or more dimensions that are not a literal 1, as the collector reads its shape
    (`exprs.shape_of_sizes`, `exprs.matrix_dims`): not `zeros(d)`, `ones(1, d)`, `full((d,), v)`.
    A guess that only decides what to keep in advance: a wrong "no" costs a second round, a wrong
    "yes" a unit kept for nothing; findings never depend on it."""
    if word not in _SIZED:
        return True  # `*_like`: the shape of its argument
    j = after
    while j < len(code) and code[j] in SPACE:
        j += 1
    if j >= len(code) or code[j] != "(":
        return True
    close = _closing(code, j)
    if close is None:
        return True
    positional = [a for a in _split(code[j + 1:close]) if not _KEYWORD.match(a)]
    if _SIZED[word]:
        positional = positional[:1]  # full(size, value): the size only
    if not positional or any(a.startswith("*") for a in positional):
        return True
    dims = positional
    if len(positional) == 1:
        only = positional[0]
        if only[:1] in "([":
            if only[-1:] not in ")]":
                return True
            dims = _split(only[1:-1])
            if any(d[:1] in "*([" for d in dims):
                return True
        elif not _SIZE.fullmatch(only):
            return True  # a call, a subscript...: not read as a size
        else:
            last = _SHAPE_NAME.match(only)
            if last is not None and last.end() == len(only) and names_a_shape(last.group(1)):
                return True  # `zeros(shape)`: a whole shape in one name
    return sum(1 for d in dims if d != "1") >= 2


# Constructors given sizes -> whether only the first argument is the size (`full(size, value)`).
_SIZED = {"zeros": False, "ones": False, "new_zeros": False, "new_ones": False, "full": True, "new_full": True}
_SHAPE_NAME = Lazy(r"(?:\w+[\s\\]*\.[\s\\]*)*(\w+)")
# A name, an attribute, a number or arithmetic of those (one size, as `exprs._dim` reads it).
_SIZE = Lazy(r"[\w.\s\\+\-*/%]+")
_KEYWORD = Lazy(r"\w+[\s\\]*=(?!=)")


def _split(text: str) -> List[str]:
    """Top-level comma-separated pieces of code-only text, stripped (empty ones dropped)."""
    pieces, level, piece = [], 0, []
    for char in text:
        if char in "([{":
            level += 1
        elif char in ")]}":
            level -= 1
        if char == "," and level == 0:
            pieces.append("".join(piece).strip(SPACE))
            piece = []
        else:
            piece.append(char)
    pieces.append("".join(piece).strip(SPACE))
    return [p for p in pieces if p]


def _never_reported(file: _File, p: int, matrix: bool) -> bool:
    """Whether the constant constructor at `p` can only give a site no rule reports, however the
    rest of the file reads: the value of a plain statement `<name> = ...` or `self.<attr> = ...`
    (`.data` too) with that one target, in code that iterates no parameters or modules, and either
    a tensor with at most one dimension that is not a literal 1 (`matrix` False: `_may_be_matrix`)
    or a matrix no matrix product can reach.

    The argument, from `targets.classify` and the rules. No loop over `parameters()`/`modules()`
    binds the target (the unit spells no such walk), so a bare name reads as the created tensor's
    shape, which the collector reads as `_may_be_matrix` does (tests/test_screen.py): VECTOR or
    UNKNOWN, or RAW for a matrix. For `self.<attr>`, `self` must not be a walked module either:
    the module argument of an `.apply()` function is its first regular parameter after `self`, or
    `self` itself when that is the one regular parameter (kept), and the scope is the unit's own
    function (it defines no other). Then a `bias*` attribute reads as BIAS, which IL002 counts
    only on a layer (`net.fc.bias`, not `self.bias`); a `weight*` attribute reads through the
    class's layers, so a vector is dropped only when every statement of the file that binds
    `self.<attr>` makes a `torch.nn.Parameter` (the import table says so): a layer neither norm nor
    matrix, UNKNOWN, and a created tensor; any other attribute reads as the shape. IL001 reports a
    VECTOR or a BIAS never, an UNKNOWN only for a `.weight` not created here, a RAW matrix only
    when it is named like a weight or is an operand of a matrix product; IL002 a MATRIX, a layer's
    BIAS, or a RAW matrix whose data flow reaches a product with a trainable (`_reaches_a_product`);
    IL003 walked targets; IL005 repeated rows; IL004 no site. So leaving the statement's unit out
    changes no finding; the facts it holds (a trainable, a layer, a binding) are tracked like any
    other dropped code's."""
    code = file.code
    start, end = file.statement_bounds(p)
    targets = _assignments(file, start, end)
    if ";" in code[start:end] or len(targets) != 1:
        return False
    parts = targets[0][0].split(".")
    if len(parts) > 1 and parts[-1] == "data":
        parts.pop()  # (the collector strips `.data`)
    if len(parts) > 2 or len(parts) == 2 and parts[0] != "self":
        return False
    unit = file.units[file.unit_at(p)]
    if any(has_word(code, word, unit.start, unit.end) for word in WALKS):
        return False
    if len(parts) == 1:  # a bare name
        return not matrix or not _reaches_a_product(file, parts[0])
    attr = parts[1]
    if unit.kind not in ("method", "def"):
        return False
    if len(exact(code, "def", unit.start, unit.end)) != 1 or has_word(code, "class", unit.start, unit.end):
        return False  # a nested function or class: another scope
    regular = _parameters(code, unit, regular=True)
    if regular is None or regular == ["self"]:
        return False
    if attr.startswith("bias"):
        return True
    if attr.startswith("weight"):
        return not matrix and _only_parameters(file, "self." + attr)
    return not matrix or not _reaches_a_product(file, "self." + attr)


_WEIGHT_NAME = Lazy(torch_api.WEIGHT_NAME, re.IGNORECASE)  # (IL001's `used_as_matrix`)


def _reaches_a_product(file: _File, name: str) -> bool:
    """Whether a constant matrix bound to `name` may be reported as one: it is named like a weight,
    or a statement with a matrix product (`MATMUL_WORDS`, or a local alias of one) mentions it, or
    its data flow meets a trainable in one (`slicing._hidden_flow`, IL002's check)."""
    last = name.rsplit(".", 1)[-1]
    if _WEIGHT_NAME.match(last):
        return True
    products = file.products()
    if not products:
        return False
    if any(last in words for words in products):
        return True
    from initlint.slicing import _hidden_flow  # (it reads this module's files)

    return _hidden_flow(file, {name}) is not None


def _at_signs(code: str) -> List[int]:
    found, p = [], code.find("@")
    while p >= 0:
        found.append(p)
        p = code.find("@", p + 1)
    return found


_CALLED = Lazy(r"[\s\\(]*((?:\w+[\s\\]*\.[\s\\]*)*(\w+))[\s\\]*\(")


def _only_parameters(file: _File, key: str) -> bool:
    """Whether every statement that may bind `key` (or `key.data`) is `key = <Parameter>(...)`
    with that one target, the callee resolving to `torch.nn.Parameter` and nothing else."""
    code = file.code
    for first in _binds(file, key, data=True):
        start, end = file.statement_bounds(first)
        targets = _assignments(file, start, end)
        if len(targets) != 1 or targets[0][0] not in (key, key + ".data"):
            return False
        call = _CALLED.match(code, targets[0][1], end)
        names = file.qualified(call.start(2), call.group(2)) if call is not None else None
        if not names or not all(name in torch_api.PARAMETER for name in names):
            return False  # (it must resolve, every way the file imports it, to nn.Parameter)
    return True


_TARGETS = Lazy(rf"((?:\w+[\s\\]*\.[\s\\]*)*\w+)[\s\\)]*(?::{ANNOTATION})?=(?!=)")


def _assignments(file: _File, start: int, end: int) -> List[Tuple[str, int]]:
    """(dotted name, offset just past its `=`) of each target the statement code[start:end] may
    bind with `=` (as `_binds` reads them)."""
    found: List[Tuple[str, int]] = []
    for match in bindings(_TARGETS, file.code, start, end):
        if _at_statement_level(file, match.start(), match.end() - 1):
            found.append((_BLANKS.sub("", match.group(1)), match.end()))
    return found


def _targets(file: _File, start: int, end: int) -> Set[str]:
    """Dotted names the statement code[start:end] may bind with `=`."""
    return {name for name, _ in _assignments(file, start, end)}


def _is_constructor(file: _File, p: int, word: str) -> bool:
    if word in CONSTRUCTOR_METHODS and receiver(file.code, p) != []:
        return True  # x.new_zeros(...): a method of an unresolved receiver
    return file.resolves(p, word, lambda q: q in torch_api.CONSTANT_CONSTRUCTORS)


def _copy_may_be_site(file: _File, p: int, chain: Optional[List[str]], ctor_names, repeat_names, trainable_names) -> bool:
    """`.copy_(src)` is a site when src is (or is bound to) a constant tensor, or when the receiver
    may be a parameter and src repeats rows (directly or through names)."""
    statement = file.statement(p)
    if any(name in statement for name in ctor_names):
        return True
    into_parameter = chain is None or len(chain) > 1 or bool(chain and chain[0] in trainable_names)
    if into_parameter and any(name in statement for name in repeat_names):
        return True
    match = _FIRST_ARGUMENT.match(file.code, p + len("copy_"))
    if match is None:
        return False  # not a plain name: its constant or repeated rows would be in the statement
    source = _BLANKS.sub("", match.group(1))
    return _bound_to(file, source, ctor_names, 3) or (into_parameter and _bound_to(file, source, repeat_names, 0))


_BLANKS = Lazy(r"[\s\\]+")
_PASSED = Lazy(r"(?:Parameter|copy_)[\s\\]*\([\s\\(]*((?:\w+[\s\\]*\.[\s\\]*)*\w+)[\s\\)]*[,)]")
_REGISTERED = Lazy(r"register_parameter[\s\\]*\([^,()]*,[\s\\(]*((?:\w+[\s\\]*\.[\s\\]*)*\w+)[\s\\)]*[,)]")


def _passed_names(file: _File, trainable_names: Set[str], parameters: Iterable[str]) -> List[Tuple[int, str]]:
    """(offset, dotted name) of the plain names that statements writing a parameter pass on as
    their value: `w = name`, `nn.Parameter(name)`, `w.copy_(name)`, `register_parameter(.., name)`."""
    code = file.code
    found: List[Tuple[int, str]] = []
    seen: Set[int] = set()
    triggers = [*parameters, "copy_", "register_parameter", "weight", *trainable_names]
    for word in set(triggers):
        for p in exact(code, word):
            start_end = file.statement_bounds(p)
            if start_end[0] in seen:
                continue
            seen.add(start_end[0])
            statement = code[start_end[0]:start_end[1]]
            if not _writes_tensor(statement, trainable_names, parameters):
                continue
            value = _BARE_VALUE.search(statement.rstrip(SPACE + ";"))
            names = [value.group(1)] if value else []
            names += [m.group(1) for m in _PASSED.finditer(statement)]
            names += [m.group(1) for m in _REGISTERED.finditer(statement)]
            found.extend((start_end[0], _BLANKS.sub("", n)) for n in names)
    return found


def _bound_to(file: _File, name: str, spellings: Iterable[str], depth: int) -> bool:
    """Whether some statement binds `name` to something spelled with one of `spellings`, or to a
    plain name that is (as the collector follows names: three assignments at most)."""
    if depth > 3:
        return False
    for p in _binds(file, name):
        statement = file.statement(p)
        if any(s in statement for s in spellings):
            return True
        value = _BARE_VALUE.search(statement.rstrip(SPACE + ";"))
        if value is not None and depth < 3 and _bound_to(file, _BLANKS.sub("", value.group(1)), spellings, depth + 1):
            return True
    return False


def _writes_tensor(statement: str, trainable_names: Set[str], parameters: Iterable[str] = ("Parameter",)) -> bool:
    """Whether a statement may put repeated rows into a parameter, as the collector counts them:
    wrapped in `Parameter`, written to a `.weight` (or `.weight.data`), or to a name a statement
    makes trainable (`self.w = nn.Parameter(...)`, `w = torch.randn(..., requires_grad=True)`),
    directly, by `.copy_()` or by `register_parameter`."""
    if any(p in statement for p in parameters) or "register_parameter" in statement or _WEIGHT_ATTRIBUTE.search(statement):
        return True
    if "copy_" in statement and ("weight" in statement or any(has_word(statement, name) for name in trainable_names)):
        return True
    return bool(assigned(statement) & trainable_names)


def trainable_words(code: str, word: str) -> List[int]:
    """Offsets of `word`, a spelling that makes a tensor trainable: whole words, but any word that
    starts with `requires_grad` (`requires_grad_()` too)."""
    return [p for p, _ in words(code, word)] if word == "requires_grad" else exact(code, word)


def _trainable_names(file: _File, trainable: Sequence[str]) -> Set[str]:
    """Last names of what statements making parameters (or asking requires_grad) may bind."""
    names: Set[str] = set()
    for word in trainable:
        for p in trainable_words(file.code, word):
            names |= assigned(file.statement(p))
    return names


def _walkers(file: _File) -> Set[int]:
    """The `__init__` units (and class headers) of classes from which IL004 may reach a walk of
    the tree (`x.apply(...)`, `x.modules()`...): through the methods they call, the functions
    they name, and the `__init__` of the bases they name. Over-approximated, never under."""
    code = file.code
    calls: List[Tuple[int, str]] = []
    for word in WALKS:
        for p in exact(code, word):
            chain = receiver(code, p)
            if chain is not None and len(chain) == 1 and called(code, p, word):
                calls.append((p, chain[0]))
    walking: Set[int] = set()
    for p, owner in calls:  # (units computed only now: most files have no walk at all)
        index = file.unit_at(p)
        if index in walking:
            continue
        unit = file.units[index]
        if unit.kind in ("method", "def"):
            # IL004 follows walks of the function's model: its first parameter (a method), or
            # the parameter that receives the model (a function of the file).
            parameters = _parameters(code, unit)
            if parameters is not None and owner not in (parameters[:1] if unit.kind == "method" else parameters):
                continue
        walking.add(index)
    if not walking:
        return set()
    reached = set(walking)
    frontier = set(walking)
    searched: Set[str] = set()
    while frontier:
        todo: Set[str] = set()
        for index in frontier:
            unit = file.units[index]
            if unit.kind == "method" and unit.name == "__init__":
                todo.add(file.units[unit.parent].name)  # reached from subclasses (`super().__init__()`)
            elif unit.kind == "method":
                todo.add("." + unit.name)  # reached by `self.<name>(...)`
            else:  # functions called by name, classes named as bases
                todo |= {unit.name} | unit.classes | unit.defines
        todo -= searched | {"", "."}
        searched |= todo
        frontier = set()
        for name in todo:
            bare = name.lstrip(".")
            for p in exact(code, bare):
                if name.startswith(".") and not _after_dot(code, p):
                    continue
                index = file.unit_at(p)
                new = [index]
                if file.units[index].kind == "class":  # a subclass: its __init__ may call the base's
                    init = _init_of(file, index)
                    if init is not None:
                        new.append(init)
                for i in new:
                    if i not in reached:
                        reached.add(i)
                        frontier.add(i)
    out: Set[int] = set()
    for index in reached:
        unit = file.units[index]
        if unit.kind == "method" and unit.name == "__init__":
            if _walks_last(file, index, searched):
                continue  # nothing it makes can come after its walks: IL004 has nothing to report
            out |= {index, unit.parent}
        elif unit.kind == "class" and _init_of(file, index) is None and has_word(code, "__init__", unit.start, unit.end):
            out.add(index)  # a class kept whole
    return out


def _walks_last(file: _File, index: int, searched: Set[str]) -> bool:
    """Whether no statement of the `__init__` at unit `index` can run after one that may walk the
    tree, as IL004 orders them (`_init_order.follows`): then a walk misses no layer it makes, and
    IL004 has nothing to report in it.

    IL004's walks are statements that call `.apply()`, iterate `.modules()`... (`WALKS`), call a
    method of the model that reaches a walk (`.m(...)`, `m` in `searched`), pass the model to a
    function of the file that does (`f(self)`), or run a base's `__init__` that does (`__init__`,
    when the class names a base `_walkers` reached); and `for` loops over the model's modules or
    parameters. A statement runs after one of them only when it comes later in the same block, or
    in a block (`else:`, `finally:`) after the one that holds it: a later line indented no deeper,
    or a later small statement on the same line. A `for` loop's own body does not count."""
    code = file.code
    unit = file.units[index]
    defs = exact(code, "def", unit.start, unit.end)
    parameters = _parameters(code, unit, regular=True)
    if not defs or not parameters:
        return False
    me = parameters[0]  # the name the model has inside
    header, body = file.statement_bounds(defs[0])
    if not code[header:body].rstrip(SPACE).endswith(":"):
        return False  # a body on the `def` line
    dotted = {name[1:] for name in searched if name.startswith(".")} | WALKS
    if any(file.units[base].name in searched for base in _bases(file, unit.parent)):
        dotted = dotted | {"__init__"}
    functions = {u.name for u in file.units if u.kind == "def"} & searched
    for word in dotted | functions:
        for p in exact(code, word, body, unit.end):
            if (word in dotted and _after_dot(code, p)) or (word in functions and _passes(file.statement(p), me)):
                if not _nothing_after(file, p, unit.end):
                    return False
    return True


def _passes(statement: str, me: str) -> bool:
    """Whether the statement may pass `me` itself as an argument (a bare `me`, not `me.x`)."""
    for p in exact(statement, me):
        j = p + len(me)
        while j < len(statement) and statement[j] in SPACE:
            j += 1
        if j >= len(statement) or statement[j] != ".":
            return True
    return False


def _nothing_after(file: _File, p: int, end: int) -> bool:
    """Whether nothing but the block the logical line at `p` opens (if it does) comes after that
    line, up to `end`."""
    code = file.code
    start, stop = file.statement_bounds(p)  # (logical lines start their first line)
    line = code[start:stop]
    if ";" in line:
        return False
    indent = line[:len(line) - len(line.lstrip(" \t"))]
    opens = line.rstrip(SPACE).endswith(":")
    for later in code[stop:end].splitlines():
        if not later.strip(SPACE):
            continue
        if not opens or not later.startswith(indent) or len(later) - len(later.lstrip(" \t")) <= len(indent):
            return False
    return True


_DEF_PARAMETERS = Lazy(r"\bdef[\s\\]+\w+[\s\\]*\(")
def _parameters(code: str, unit: Unit, regular: bool = False) -> Optional[List[str]]:
    """The parameter names of a def unit (None when its header is not read with certainty); with
    `regular`, only those libcst's `Parameters.params` holds: after a `/`, before a `*`."""
    match = _DEF_PARAMETERS.search(code, unit.start, unit.end)
    if match is None:
        return None
    close = _closing(code, match.end() - 1)
    if close is None:
        return None
    names: List[str] = []
    for piece in _split(code[match.end():close]):
        if regular and piece.startswith("*"):
            break
        if regular and piece == "/":
            names = []
            continue
        found = _PARAMETER.match(piece)
        if found:
            names.append(found.group(1))
        elif regular:
            return None
    return names


_PARAMETER = Lazy(r"[\s\\*]*(\w+)")


def _bases(file: _File, index: int) -> List[int]:
    """Top-level classes of the file that class `index` names in its header (its bases)."""
    unit = file.units[index]
    keyword = _HEADER_ARGS.search(file.code, unit.start, unit.end)
    if keyword is None:
        return []
    named = set(_WORD.findall(keyword.group(1)))
    return [i for i, u in enumerate(file.units) if u.kind == "class" and u.name in named and i != index]


_HEADER_ARGS = Lazy(r"\bclass[\s\\]+\w+[\s\\]*\(([^)]*)\)")
_WORD = Lazy(r"\w+")


def _after_dot(code: str, p: int) -> bool:
    j = p - 1
    while j >= 0 and code[j] in SPACE:
        j -= 1
    return j >= 0 and code[j] == "."


def _init_of(file: _File, index: int) -> Optional[int]:
    """The `__init__` unit of the class that unit `index` belongs to (None if not a class member)."""
    unit = file.units[index]
    header = unit.parent if unit.kind == "method" else index if unit.kind == "class" else -1
    if header < 0:
        return None
    for i in range(header + 1, len(file.units)):
        member = file.units[i]
        if member.kind != "method" or member.parent != header:
            break
        if member.name == "__init__":
            return i
    return None


def _closing(code: str, open_at: int) -> Optional[int]:
    """Offset of the bracket closing the one at `open_at` (code-only text)."""
    level = 0
    for i in range(open_at, len(code)):
        char = code[i]
        if char in "([{":
            level += 1
        elif char in ")]}":
            level -= 1
            if level == 0:
                return i
    return None


_DATA = Lazy(r"[\s\\]*\.[\s\\]*data(?!\w)")
_ASSIGNED = Lazy(rf"[\s\\)]*(?::{ANNOTATION})?(=)(?!=)")


def _binds(file: _File, key: str, start: int = 0, end: Optional[int] = None, data: bool = False) -> List[int]:
    """Offsets in code[start:end] where a statement may bind exactly the dotted name `key` with `=`
    (with `data`, also `key.data`, which the collector strips): the name, then `=` outside
    brackets, at the start of a statement or after another `=` (`a = b = 1`). Over-approximated:
    a name after a `:` counts too. (Found from the whole-word occurrences of the key's last name,
    its receiver read backwards: no regular expression to compile per key.)"""
    code = file.code
    end = len(code) if end is None else end
    *head, last = key.split(".")
    found = []
    for p in exact(code, last, start, end):
        first = _chain_start(code, p, head)
        if first is None or first < start:
            continue
        q = p + len(last)
        if data:
            tail = _DATA.match(code, q, end)
            if tail is not None and _ASSIGNED.match(code, tail.end(), end):
                q = tail.end()
        assignment = _ASSIGNED.match(code, q, end)
        if assignment is not None and _at_statement_level(file, first, assignment.start(1)):
            found.append(first)
    return found


def _chain_start(code: str, p: int, head: List[str]) -> Optional[int]:
    """Where `head[0]` starts when the word at `p` is preceded by exactly `head[0]. ... .head[-1].`
    (blanks allowed around the dots), else None."""
    for part in reversed(head):
        found = dotted_before(code, p)
        if found is None or found[0] != part:
            return None
        p = found[1]
    return p


def _at_statement_level(file: _File, target: int, equals: int) -> bool:
    """Whether a name at `target` followed by `=` at `equals` may be an assignment target."""
    code = file.code
    j = target - 1
    if j >= 0 and (code[j] == "." or is_word_char(code[j])):
        return False
    first, _ = file.statement_bounds(target)
    if depth(code, first, equals) != 0:
        return False  # a keyword argument, a dict, a default value
    while j >= first and code[j] in " \t\f\\(\r\n":
        j -= 1
    if j < first:
        return True
    return code[j] in ";:" or (code[j] == "=" and code[j - 1] not in "=<>!+-*/%&|^@:")
