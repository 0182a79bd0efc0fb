"""Run folders: a training written to disk, its status, notes, repeats and imported checkpoints."""
