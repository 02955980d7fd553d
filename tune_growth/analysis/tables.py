"""The one Markdown table writer of the report's and the study's pages (tabulate, behind
DataFrame.to_markdown, is not a dependency): a header, the `---` rule and one line per row, every
cell as given."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A pipe table: `| a | b |` lines for `header` and each row of `rows` (cells already
    formatted), the rule `| --- | --- |` under the header, and a final newline."""
    line = lambda cells: "| " + " | ".join(cells) + " |"  # noqa: E731
    return "\n".join([line(header), line(["---"] * len(header)), *(line(r) for r in rows)]) + "\n"
