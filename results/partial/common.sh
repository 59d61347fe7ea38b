# Sourced by snapshot.sh and restore.sh (session plumbing, removed with them).
# checkpoint_of <params.json>: the prior checkpoint a training writes when it finishes (empty if unreadable).
checkpoint_of() { python3 -c "import json,sys; print(json.load(sys.stdin)['checkpoint'])" < "$1" 2>/dev/null || true; }
