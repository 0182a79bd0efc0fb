"""The data: mixtures of noisy sines, their pure targets, and the known-model estimator's reference."""
