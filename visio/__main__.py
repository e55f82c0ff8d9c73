"""`python -m visio` is the same as the `visio` command."""

from visio.cli import main

if __name__ == "__main__":
    main()
