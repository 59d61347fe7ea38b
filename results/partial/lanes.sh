#!/bin/bash
# Session plumbing of the unfinished evidence grids (removed once they are complete); run from the repository root
# after restore.sh and `git worktree add ~/sfp-grid 366fa66`. Starts the session's two lanes (one core each) in the
# background: lane.py on queue_a.txt and queue_b.txt, no RL run ending after DEADLINE (HH:MM, leave ~15 minutes
# for snapshot.sh --carry before the session ends). Output in ~/lane_a.log and ~/lane_b.log.
set -e
[ -n "${1:-}" ] || { echo "usage: bash results/partial/lanes.sh HH:MM" >&2; exit 2; }
export OMP_NUM_THREADS=1 PYTHONPATH=$HOME/sfp-grid
PY=${PY:-/work/main/.venv/bin/python}
for lane in a b; do
  nohup "$PY" results/partial/lane.py "$1" "results/partial/queue_$lane.txt" >> ~/lane_$lane.log 2>&1 &
  echo "lane $lane: process $!, output ~/lane_$lane.log"
done
