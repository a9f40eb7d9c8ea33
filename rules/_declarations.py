"""What the rules' sites need in text (initlint.screen.Needs), where several rules share it.
Light: imported with the rule registry, before any file is known to need libcst."""

from __future__ import annotations

from initlint import torch_api
from initlint.screen import Needs

# A tensor set to a constant or to repeated rows (the network model's judgement reads both),
# judged with what re-initialises it randomly (`context`), where the class's other methods use
# it (`class`), who reads what a function or a module-level statement makes (`users`), and the
# module-level statements (models the code builds, data flow of scripts).
CONSTANT_OR_ROWS = Needs(
    triggers=torch_api.CONSTANT_WORDS | torch_api.REPEAT_WORDS,
    patterns=(torch_api.WHOLE_SLICE_WRITE,),
    context=torch_api.RANDOM_WORDS,
    follow=frozenset({"class", "users", "module"}),
)
