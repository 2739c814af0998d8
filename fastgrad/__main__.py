"""``python -m fastgrad``: the tour (see fastgrad/tour.py)."""
import sys

from .tour import main

if __name__ == "__main__":
    sys.exit(main())
