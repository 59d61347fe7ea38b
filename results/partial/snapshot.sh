#!/bin/bash
# Session plumbing of the unfinished evidence grids (removed once they are complete); run from the repository root.
# Copies the state of the grids running from ~/sfp-grid into results/partial/ so that it is committed:
#   - each RL run's config.json, progress.txt, provenance.json (and visitation.npz) -> logs/, plus the figures;
#   - each prior training's params, curve, events and diagnostics -> priors/<run>/;
#   - each finished prior checkpoint of ~/flows -> flows/ (1-2 MB each).
# With --carry it also commits the snapshot, then each unfinished prior's training_state.pt (6.6 MB) in a commit of
# its own, and removes the states again in the next commit: the tree never tracks a file over 5 MB, and the state
# stays in the history, where restore.sh finds it on a machine that lost ~/logs (a 5-hour prior outlives a session).
# restore.sh puts everything back on a machine that lost ~/logs and ~/flows.
set -e
source "$(dirname "$0")/common.sh"
PY=${PY:-/work/main/.venv/bin/python}
export PYTHONPATH=$HOME/sfp-grid
for grid in metaworld maze control; do
  ls -d ~/logs/${grid}__*/progress.txt >/dev/null 2>&1 || continue
  $PY ~/sfp-grid/scripts/plot.py ~/logs/${grid}__* --out results/partial/$grid --snapshot results/partial/logs
done
for grid in maze control; do
  ls ~/logs/${grid}__*/visitation.npz >/dev/null 2>&1 || continue
  $PY ~/sfp-grid/scripts/plot_exploration.py results/partial/logs/${grid}__* --out results/partial/$grid
done
for run in ~/logs/flows_*; do
  [ -f "$run/progress.txt" ] || continue
  target=results/partial/priors/$(basename "$run")
  rm -rf "$target" && mkdir -p "$target"  # a mirror: nothing of an earlier training stays beside this one
  for f in params.json progress.txt diagnostics.json pairs.png "$run"/events.out.tfevents.*; do f=$(basename "$f"); if [ -f "$run/$f" ]; then cp "$run/$f" "$target/"; fi; done
done
mkdir -p results/partial/flows
for prior in ~/flows/*.pt; do if [ -f "$prior" ]; then cp -p "$prior" results/partial/flows/; fi; done
ls -R results/partial | head -100

[ "${1:-}" = --carry ] || exit 0
git add -A results/partial && git commit -q -m "results/partial: end-of-session snapshot of the evidence grids" || true
carried=()
for run in ~/logs/flows_*; do
  checkpoint=$(checkpoint_of "$run/params.json")
  [ -e "$checkpoint" ] && continue  # finished: its checkpoint is in flows/, its state need not travel
  if [ -f "$run/training_state.pt" ] && [ -d "results/partial/priors/$(basename "$run")" ]; then
    cp "$run/training_state.pt" "results/partial/priors/$(basename "$run")/" && carried+=("$(basename "$run")")
  fi
done
[ ${#carried[@]} -gt 0 ] || exit 0
git add results/partial/priors/*/training_state.pt
git commit -q -m "results/partial: carry the unfinished priors' training state (${carried[*]}) in the history for the next machine"
git rm -q --cached results/partial/priors/*/training_state.pt && rm -f results/partial/priors/*/training_state.pt
git commit -q -m "results/partial: the carried training states leave the tree again (they stay in the previous commit)"
git log --oneline -3
