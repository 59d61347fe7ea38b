#!/bin/bash
# Session plumbing of the unfinished evidence grids (removed once they are complete); run from the repository root
# on a machine that lost ~/logs and ~/flows, before restarting the grids. Puts back what snapshot.sh committed:
# finished RL runs (so that the grid skips them; unfinished ones start again, their checkpoints are not committed)
# and the finished prior checkpoints (their datasets are re-collected byte for byte; the runs check the md5).
# Never overwrites.
set -e
mkdir -p ~/logs ~/flows
for run in results/partial/logs/*/; do
  name=$(basename "$run")
  [ -e ~/logs/"$name" ] && continue
  if python3 - "$run" <<'PY'
import json, sys
from pathlib import Path
run = Path(sys.argv[1])
config = json.loads((run / "config.json").read_text())
rows = (run / "progress.txt").read_text().split("\n")
header, last = rows[0].split("\t"), [r for r in rows if r][-1].split("\t")
done = int(float(last[header.index("TotalEnvInteracts")])) >= config["epochs"] * config["steps_per_epoch"]
sys.exit(0 if done else 1)
PY
  then cp -r "$run" ~/logs/"$name"; echo "restored finished run $name"; fi
done
for prior in results/partial/flows/*.pt; do
  if [ -f "$prior" ] && [ ! -e ~/flows/"$(basename "$prior")" ]; then
    cp -p "$prior" ~/flows/; echo "restored prior $(basename "$prior")"
  fi
done
