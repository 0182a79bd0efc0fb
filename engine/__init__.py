"""The workbench's engine: data, model, training, evaluation, checkpoints and runs. No Qt here."""

__version__ = "0.1.0"
