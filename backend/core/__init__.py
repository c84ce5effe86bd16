"""Shared foundations that import no other backend package.

Errors, paths, atomic file writes, tensor files, typed configs, progress, threads, metrics and geodesy.
"""
