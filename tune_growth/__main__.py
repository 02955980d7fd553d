"""`tune-growth COMMAND ...` (or `python -m tune_growth COMMAND ...`): one entry point for every
command. Each subcommand is the module of the same job (`python -m tune_growth.search` and the
others keep working) and takes the same flags; `tune-growth COMMAND --help` lists them."""

from __future__ import annotations

import importlib
import sys

# subcommand -> (module with main(argv), what it does, an example)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "train": ("tune_growth.train.cli", "train one staged schedule, no Ray",
              "tune-growth train --hypothesis h1+h3 --set crop_pad=2 --out runs/mine"),
    "search": ("tune_growth.search.__main__", "search a space's schedules with Ray Tune + Optuna",
               "tune-growth search h1"),
    "study": ("tune_growth.study.__main__", "re-run the best schedules over seeds beside fair controls",
              "tune-growth study --hypotheses h1 h2 h3 --seeds 5"),
    "report": ("tune_growth.analysis.report", "the HTML report of searches: tables and plots",
               "tune-growth report results"),
    "results": ("tune_growth.results.export", "re-export a search's Parquet; answer --fastest-to / --best-within",
                "tune-growth results results/h1_mnist5k_lenet5_s0 --best-within 2e9"),
    "check-cluster": ("tune_growth.search.cluster_check", "validate cluster.yaml before `ray up`",
                      "tune-growth check-cluster cluster.yaml"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: tune-growth COMMAND [ARGS...]   (also: python -m tune_growth COMMAND)", "",
             "Search staged training schedules (more examples per class, classes coarse to fine, larger images).",
             "", "commands:"]
    lines += [f"  {name:<{width}}  {what}" for name, (_, what, _) in COMMANDS.items()]
    lines += ["", "examples:"] + [f"  {example}" for _, _, example in COMMANDS.values()]
    lines += ["", "tune-growth COMMAND --help lists a command's flags."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"error: unknown command {name!r}; expected one of {', '.join(COMMANDS)} (see tune-growth --help)",
              file=sys.stderr)
        return 2
    return importlib.import_module(COMMANDS[name][0]).main(rest) or 0


if __name__ == "__main__":
    sys.exit(main())
