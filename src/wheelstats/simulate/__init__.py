"""Synthetic package-index traffic: a sample access log and whole scenarios."""

from wheelstats.simulate.samplelog import sample_log

__all__ = ["sample_log"]
