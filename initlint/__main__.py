"""`python -m initlint` is the `initlint` command."""

from initlint.cli import run

if __name__ == "__main__":
    run()
