"""The figures: drawn once, shown in the window and exported as PNG."""
