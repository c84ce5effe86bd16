"""Readers for the real data formats, returning typed, documented structures."""
