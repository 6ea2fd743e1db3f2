"""Benchmarks: they print figures (ratios to a baseline measured in the same run); they never pass or fail."""
