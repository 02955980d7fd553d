"""`python -m tune_growth.train`: the single-run CLI (train/cli.py)."""

import sys

from tune_growth.train.cli import main

if __name__ == "__main__":
    sys.exit(main())
