"""Shared foundations: errors, paths, atomic file writes, tensor files, typed configs, progress, threads,
metrics and geodesy. Nothing here imports another backend package.
"""
