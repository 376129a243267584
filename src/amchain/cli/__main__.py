"""``python -m amchain.cli``."""

from amchain.cli import main

if __name__ == "__main__":
    main()
