"""`python -m tune_growth.analysis RESULTS [--out DIR]`: the HTML report (analysis/report.py)."""

import sys

from tune_growth.analysis.report import main

if __name__ == "__main__":
    sys.exit(main())
