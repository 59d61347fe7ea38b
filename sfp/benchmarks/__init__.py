"""Speed measurements of every stage, side by side in one run (scripts/bench*.py)."""
