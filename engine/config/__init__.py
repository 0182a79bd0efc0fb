"""The experiment's settings: the typed schema, YAML load and save, and the reference generated from it."""
