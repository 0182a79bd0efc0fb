"""What finished runs mean: comparisons, effects with their uncertainty, reports and tables."""
