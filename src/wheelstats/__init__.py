"""wheelstats: download statistics for a Python package repository."""

__version__ = "0.1.0"
