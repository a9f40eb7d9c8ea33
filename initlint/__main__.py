"""`python -m initlint` is the `initlint` command."""

from initlint.cli import main

if __name__ == "__main__":
    main()
