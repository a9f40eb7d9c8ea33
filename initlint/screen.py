"""A cheap, conservative text screen: only the code that could matter reaches libcst.

Parsing and visiting are most of the cost (libcst: ~2.4 us a byte to parse, as much again to
visit), and most code holds nothing a rule reports. Every finding is made at a *site*
(IL001-IL003, IL005: a tensor set to a constant, or to repeated rows) or at a walk of the module
tree in an `__init__` (IL004). The screen keeps a superset of the code they need, in two steps.

1. **Files** (`may_match`: substring tests, no parse). Each kind of site needs its spellings,
   together: `.fill_()`, `.zero_()` or `.copy_()`; an nn.init constant function (`constant_`,
   `ones_`, `zeros_` or their bare forms) and `init` (the module it must resolve to, or the
   import of an alias, spells it); a constant constructor (`zeros`, `ones`, `full`, `*_like`,
   `new_*`) and `Parameter`, `requires_grad`, `register_parameter` or a write to `.weight`,
   `.data`, `.bias`; a repetition (`repeat`, `expand`, `tile`, `broadcast_to`) and one of those
   or `weight` (the collector counts repeated rows only into a parameter); a whole-slice write
   (`w[:] = ...`). An IL004 walk needs `__init__` and a call `.apply(`, `.modules(`, `.children(`,
   `.parameters(` (or their `named_` forms). A file with none of these is never parsed (nor is
   libcst imported for it).

2. **Definitions** (`plan`). Strings and comments are blanked (code in a docstring never counts)
   and the file is cut into *units* (`textscan.units`): top-level statements, top-level
   functions, class headers (with their class-level statements) and methods. Kept are
   - *seeds* (`initlint.anchors`): units holding an anchor of a site, read in its statement and
     through the import table taken from the text, as the collector reads them (`init.zeros_(w)`
     only where `init` may resolve to torch.nn.init; `torch.zeros` only in a statement that makes
     a `Parameter`, asks `requires_grad` or writes `.weight`/`.data`/`.bias`, and not where no
     rule can report what it makes, whatever the rest of the file says (`self.scale =
     nn.Parameter(torch.ones(d))`: a vector, a `self.bias*`, a matrix no product reaches;
     `anchors._never_reported` gives the argument, rule by rule); repeated rows only
     in a statement that puts them into a parameter, directly or through names bound to them,
     three assignments deep; `.copy_(src)` only when src is, or is bound to, a constant or
     repeated rows), and the `__init__` of every class from which IL004 may reach a walk of the
     tree (`model.apply(...)`, `model.modules()`...) on its model, through methods, bases and
     functions of the file, unless nothing in it can run after such a walk (the walk is its last
     statement: `anchors._walks_last`);
   - the units that may give random values to a constant matrix a constructor seed makes
     (`nn.init.trunc_normal_(self.pos)`: the rules ask whether it is re-initialised, so kept at
     once, the answer needs no second round);
   - what those need to be analysed alike: a kept method's class header; a kept class's
     `__init__` (IL004 reads every class's) and the classes it names as bases; the functions and
     methods that code within three calls of an `__init__` names (IL004 looks them up in the
     module and the class; its candidates' fixes look further); the top-level imports that bind
     a name kept code, or a dropped class's bases, mention.
   Dropped units are left out of the parsed text; kept ones are whole lines, so columns stay,
   and lines are mapped back (`tracking.remap`). Where dropped classes were, a marker statement
   lets the collector register a stand-in (`tracking.Dropped`) exactly where the whole file
   would have defined the class: `name in facts.classes` and a class's bases answer as they
   would; reading anything else of it counts as a read (below).

   Everything else kept code learns from the rest of the file goes through the collector's
   flat, name-keyed facts (bindings, instances, random re-inits, `.apply` targets, matrix
   products, trainables, local imports, each class's methods and layers), and is not guessed:
   the engine records every key the collector and the rules read, and where in the visit
   (`tracking.track`), and `slicing.Plan.providers` asks whether a dropped unit could hold a fact
   under that key: it must come before the read, spell the key's name and what that kind of fact
   needs (an `=` at statement level for a binding, a `Parameter` in that statement for a
   trainable, an `.apply(` around the name...). If one could, it is kept and the file is analysed
   again; after three rounds, the whole file is. A file whose text is not lexed with certainty
   (an unterminated string), or whose cut text does not parse, is parsed whole.

   Two facts are read whole by IL002's check of a zero "hidden" matrix (every binding, every
   matrix product): there the screen follows the data flow from the checked matrices through the
   whole file's text (`slicing._hidden_flow`): when no matrix product mentions both a name from it
   and a trainable name, the check finds nothing with or without the dropped units; otherwise
   the units on that flow are kept.

The code: this module (the spellings, the file test, `plan`); `initlint.textscan` (reading text:
lexing, units, imports); `initlint.anchors` (the seeds); `initlint.slicing` (the plan: what to
keep, the text to parse, `providers`); `initlint.tracking` (recording reads, the dropped classes'
stand-ins, lines mapped back).

tests/test_screen.py runs every rule with the screen on and off over the fixtures, the rules'
examples and the benchmark corpus (as it is, and with init bugs seeded into it) and asserts
identical findings and identical sites, each read identically (but for the constants left out
as above, each of which it checks no rule could report). A new rule must teach this
module its anchors, and the tracking the facts it reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, Optional, Sequence

from initlint import torch_api
from initlint.textscan import Lazy

if TYPE_CHECKING:  # pragma: no cover
    from initlint.slicing import Plan

# ---- what the rules need, by spelling -------------------------------------------------------
INIT_FUNCTIONS = frozenset(torch_api.INIT_CONSTANT)  # constant_, ones_, zeros_ (and bare forms)
CONSTRUCTORS = frozenset(q.rsplit(".", 1)[-1] for q in torch_api.CONSTANT_CONSTRUCTORS)
CONSTRUCTOR_METHODS = frozenset(torch_api.CONSTANT_METHODS)
SITE_METHODS = ("fill_", "zero_", "copy_")
REPEAT_METHODS = frozenset(torch_api.REPEAT_METHODS)
REPEAT_FUNCTIONS = frozenset(q.rsplit(".", 1)[-1] for q in torch_api.REPEAT_FUNCTIONS)
PARAMETER_NAMES = frozenset(q.rsplit(".", 1)[-1] for q in torch_api.PARAMETER)
# facts.PARAM_ITERATORS | facts.MODULE_ITERATORS, and `.apply`: what IL004 calls a walk of the tree.
WALKS = frozenset({"apply", "parameters", "named_parameters", "modules", "named_modules", "children", "named_children"})
MATMUL_WORDS = ("@", "matmul", "mm", "bmm", "addmm", "einsum", "tensordot", "linear", "bilinear")
RANDOM_WORDS = tuple(sorted(torch_api.RANDOM_METHODS | set(torch_api.RANDOM_INIT_SUFFIXES))) + ("copy_",)
TRAINABLE_WORDS = ("Parameter", "requires_grad", "register_parameter")

_SLICE = Lazy(r"\[[\s\\(]*(?::|\.\.\.)")
_WHOLE = r"[\s\\(]*(?:\.\.\.|:[\s\\]*(?::[^,\]\[]*)?)[\s\\)]*"
_WHOLE_SLICE_TARGET = Lazy(rf"\[{_WHOLE}(?:,{_WHOLE})*,?[\s\\]*\][\s\\)]*(?::[^=]*)?=(?!=)")
_WEIGHT_WRITE = Lazy(r"\.[\s\\]*(?:weight|data|bias)\b[\s\\)]*(?::[^=\n]*)?=(?!=)")
_WALK_CALL = Lazy(r"\.[\s\\]*(?:apply|modules|named_modules|children|named_children|parameters|named_parameters)[\s\\]*\(")


def may_match(source: str, extend_init_modules: Sequence[str] = ()) -> bool:
    """False only when no rule can report anything in `source`: substring and literal-led
    regular expression tests on the raw text (strings and comments included: a superset), one
    per family of sites, as the module docstring lists them."""
    if "fill_" in source or "zero_" in source or "copy_" in source:
        return True  # .fill_(), .zero_(), .copy_()
    if ("constant" in source or "ones" in source or "zeros" in source) and ("init" in source or extend_init_modules):
        return True  # an nn.init constant function: its module path (or an alias's import) spells `init`
    trainable = "Parameter" in source or "requires_grad" in source or "register_parameter" in source
    if ("zeros" in source or "ones" in source or "full" in source or "new_" in source) and (trainable or _WEIGHT_WRITE.search(source)):
        return True  # a constant tensor made a parameter, or written to a .weight/.data/.bias
    if ("repeat" in source or "expand" in source or "tile" in source or "broadcast_to" in source) and (trainable or "weight" in source):
        return True  # repeated rows put into a parameter: Parameter(...), a .weight, a trainable name
    if "[" in source and _WHOLE_SLICE_TARGET.search(source):
        return True  # w[:] = ..., w[...] = ...
    return "__init__" in source and _WALK_CALL.search(source) is not None  # IL004: a walk of the tree


def plan(source: str, extend_init_modules: Sequence[str] = (), why: Optional[Dict[int, List[str]]] = None, matched: bool = False) -> Optional["Plan"]:
    """What of `source` to parse (see `initlint.slicing`); None when nothing in it can be reported.
    `matched`: the caller has seen `may_match` say yes."""
    if not matched and not may_match(source, extend_init_modules):
        return None
    from initlint.slicing import build  # imported here: a file with nothing to check never needs it

    return build(source, extend_init_modules, why)
