"""Runnable benchmarks that print their figures side by side: `python -m benchmarks.<name>`."""
