"""Synthetic package-index traffic: a sample access log and whole scenarios."""

from wheelstats.simulate.generate import simulate as run_simulation
from wheelstats.simulate.plan import InvalidScale, check_scale
from wheelstats.simulate.samplelog import sample_log
from wheelstats.simulate.scenario import SCENARIOS, UnknownScenario, get_scenario

__all__ = ["SCENARIOS", "InvalidScale", "UnknownScenario", "check_scale", "get_scenario", "run_simulation",
           "sample_log"]
