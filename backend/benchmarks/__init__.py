"""Benchmarks: each prints what it measured, on which data and split, and writes a Markdown table."""
