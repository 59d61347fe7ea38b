#!/bin/bash
# Session plumbing of the evidence grids (removes itself with results/partial); run from the repository root once
# every run of the four grids is in results/partial/logs.
#   bash results/partial/finalize.sh move      check every run reached its budget, move logs/priors/flows to
#                                              results/ (replacing the old logs), `make figures`
#   (then fill the [n] of the two drafts by hand, reading results/*.md)
#   bash results/partial/finalize.sh section   assemble the drafts into README.md and results/README.md and remove
#                                              results/partial
set -e
PY=${PY:-/work/main/.venv/bin/python}
case "${1:-}" in
move)
  $PY - <<'EOF'
import json, sys
from pathlib import Path
from sfp.experiments.analysis import read_progress
runs = sorted(p for p in Path("results/partial/logs").iterdir() if p.is_dir())
expected = {"metaworld": 36, "maze": 36, "control": 18}
short = []
for run in runs:
    config = json.loads((run / "config.json").read_text())
    budget = config["epochs"] * config["steps_per_epoch"]
    columns = read_progress(run / "progress.txt")
    reached = int(columns["TotalEnvInteracts"][-1]) if columns else 0
    if reached < budget:
        short.append(f"{run.name} {reached}/{budget}")
counts = {grid: sum(run.name.startswith(grid + "__") for run in runs) for grid in expected}
if short or counts != expected:
    sys.exit(f"finalize.sh: not complete: {counts} (expected {expected}); short: {short}")
print(f"finalize.sh: {len(runs)} runs, every one at its budget")
EOF
  git rm -r -q results/logs
  for d in logs priors flows; do git mv results/partial/$d results/$d; done
  make figures RESULTS=results
  git add -A results
  git status --short | tail -5
  ;;
section)
  $PY results/partial/assemble.py results/partial/draft_results_section.md results > /tmp/section.md
  grep -q "\[n\]" results/partial/draft_results_readme.md && { echo "finalize.sh: [n] left in draft_results_readme.md" >&2; exit 1; }
  $PY - <<'EOF'
from pathlib import Path
readme = Path("README.md").read_text()
start = readme.index("### Results: the paper's comparison")
end = readme.index("## What happens when things go wrong")
Path("README.md").write_text(readme[:start] + Path("/tmp/section.md").read_text().rstrip() + "\n\n" + readme[end:])
draft = Path("results/partial/draft_results_readme.md").read_text()
Path("results/README.md").write_text(draft[draft.index("# Results"):])
EOF
  git rm -r -q -f results/partial
  rm -rf results/partial
  grep -rn "results/partial" README.md Makefile results/README.md docs && { echo "finalize.sh: results/partial still referenced" >&2; exit 1; }
  echo "finalize.sh: README section and results/README.md replaced; results/partial removed"
  ;;
*) echo "usage: bash results/partial/finalize.sh move|section" >&2; exit 2 ;;
esac
