"""Allow ``python -m arcli``."""

from arcli.cli import main

if __name__ == "__main__":
    main()
