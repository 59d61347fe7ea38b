#!/bin/bash
# Session plumbing of the unfinished evidence grids (removed once they are complete); run from the repository root
# on a machine that lost ~/logs and ~/flows, before restarting the grids. Puts back what snapshot.sh committed:
# finished RL runs (so that the grid skips them; unfinished ones start again, their checkpoints are not committed)
# the finished prior checkpoints (their datasets are re-collected byte for byte; the runs check the md5), and each
# unfinished prior training as of the newest commit that carried its training_state.pt (snapshot.sh --carry), so
# that it resumes from that epoch. Never overwrites.
set -e
source "$(dirname "$0")/common.sh"
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
for state in $(git log --diff-filter=A --name-only --format= -- 'results/partial/priors/*/training_state.pt' | sort -u); do
  dir=$(dirname "$state"); name=$(basename "$dir")
  checkpoint=$(checkpoint_of "$dir/params.json")
  [ -e ~/logs/"$name" ] && continue
  [ -n "$checkpoint" ] && [ -e "$checkpoint" ] && continue  # finished: the prior itself was restored above
  commit=$(git log -1 --diff-filter=A --format=%H -- "$state")
  mkdir -p ~/logs/"$name"
  for f in $(git ls-tree --name-only "$commit" "$dir/"); do git show "$commit:$f" > ~/logs/"$name"/"$(basename "$f")"; done
  echo "restored unfinished prior training $name from $commit (epoch $(tail -n 1 ~/logs/"$name"/progress.txt | cut -f1))"
done
