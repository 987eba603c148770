"""Experiments built from the Python API (paper reproduction, studies)."""
