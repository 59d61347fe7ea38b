"""Stage 1, expert data: the dataset format, the task-agnostic experts, collection, distillation, imports."""
