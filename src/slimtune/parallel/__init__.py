"""Parallel execution: local worker processes (and a Dask executor)."""
