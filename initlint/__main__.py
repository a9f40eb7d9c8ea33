"""`python -m initlint` is the `initlint` command.

`python -m` puts the working directory first on sys.path, so the project being linted could
shadow what initlint imports: a `tokenize.py`, `json.py` or `click.py` next to the code would be
imported (and run) in place of the real module. initlint never imports the user's code, so the
working directory comes off the path before anything else is imported (what `python -P` does,
on Pythons that have no -P). The initlint package itself is imported already.
"""

import os
import sys


def _drop_working_directory() -> None:
    if getattr(sys.flags, "safe_path", False) or not sys.path:
        return  # `python -P` / PYTHONSAFEPATH: nothing was added
    first = sys.path[0]
    try:
        here = first == "" or os.path.samefile(first, os.getcwd())
    except OSError:
        return
    if here:
        del sys.path[0]


_drop_working_directory()

from initlint.cli import run  # noqa: E402 - after the path is safe

if __name__ == "__main__":
    run()
