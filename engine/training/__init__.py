"""The model, the two traversals that train it, schedules, checkpoints and the common evaluation."""
