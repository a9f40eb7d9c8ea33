"""A cheap text screen: files that cannot hold anything a rule reports never reach libcst.

Every rule reports at a site that needs one of these spellings in the file's text:
an init function (`constant`, `ones`, `zeros` and their aliases' import lines), a tensor method
(`fill_`, `zero_`, `copy_`), a constant constructor (`full`, `ones`, `zeros`, `new_*`), a whole-slice
assignment (`[:]`, `[...]`), a repetition (`repeat`, `expand`, `tile`, `broadcast_to`), or, for the
init-before-layers rule, a walk of the module tree (`apply`, `modules`, `parameters`, `children`).
An alias (`from torch.nn.init import constant_ as c`) still spells the name in its import.
"""

from __future__ import annotations

import re

_NEEDLES = re.compile(
    r"constant|ones|zeros|fill_|zero_|copy_|full|repeat|expand|tile|broadcast_to"
    r"|apply|modules|parameters|children"
    r"|\[\s*:\s*\]|\[\s*\.\.\.\s*\]|\[\s*:\s*,"
)


def may_match(source: str) -> bool:
    """False only when no rule can report anything in `source`."""
    return _NEEDLES.search(source) is not None
