"""Session plumbing of the unfinished evidence grids (removed with the rest of results/partial): fills the draft of
the README's results section with the tables that `make figures` wrote, so that the numbers in the README are the
files' own.

usage:  python results/partial/assemble.py DRAFT RESULTS > section.md
In DRAFT, `{{<prefix>:<part>}}` becomes that part of RESULTS/<prefix>.md (or <prefix>_coverage.md):
  tasks        the per-task table with its caption      aggregate    the IQM table with its caption
  improvement  the probability-of-improvement table, only the rows whose X is sfp (the whole table is in the file)
  compute      the closing line (code versions, run-hours)
  coverage     the coverage table of <prefix>_coverage.md
The section starts at its `### Results` heading; any other `{{...}}` line in it, or a `[n]`, is an error: nothing is printed until every number is in.
"""
import re
import sys
from pathlib import Path

CAPTIONS = {"tasks": "Test success rate", "aggregate": "Across tasks", "improvement": "Probability of improvement"}


def blocks(path: Path) -> list[str]:
    return [block.strip() for block in path.read_text().split("\n\n") if block.strip()]


def part(results: Path, prefix: str, name: str) -> str:
    if name == "coverage":
        return (results / f"{prefix}_coverage.md").read_text().strip()
    parts = blocks(results / f"{prefix}.md")
    if name == "compute":
        return next(block for block in parts if block.startswith("Code:"))
    index = next(i for i, block in enumerate(parts) if block.startswith(CAPTIONS[name]))
    caption, table = parts[index], parts[index + 1]
    if name == "improvement":
        rows = table.split("\n")
        table = "\n".join(rows[:2] + [row for row in rows[2:] if row.startswith("| sfp |")])
    return f"{caption}\n\n{table}"


def main(draft: str, results: str) -> None:
    text = Path(draft).read_text()
    text = text[text.index("### Results"):]
    text = re.sub(r"\{\{(\w+):(\w+)\}\}", lambda match: part(Path(results), *match.groups()), text)
    left = [line for line in text.split("\n") if "{{" in line or "[n]" in line]
    if left:
        sys.exit(f"assemble.py: unfilled line in {draft}: {left[0]}")
    print(text)


if __name__ == "__main__":
    main(*sys.argv[1:])
