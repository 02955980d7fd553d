"""`python -m tune_growth.results EXPERIMENT_DIR`: re-export a search's Parquet (results/export.py)."""

import sys

from tune_growth.results.export import main

if __name__ == "__main__":
    sys.exit(main())
