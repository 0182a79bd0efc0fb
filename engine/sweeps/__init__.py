"""Sweeps on Optuna: the search space, the runner, and the one home of Optuna's private API."""
