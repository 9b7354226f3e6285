"""Uncertainty at scale: Monte Carlo with streamed statistics, sensitivity, executors.

Entry points: ``rareflow.uncertainty.run.run_montecarlo`` and
``rareflow.uncertainty.sensitivity.sensitivity`` (the CLI's ``montecarlo`` and
``sensitivity``). Only ``spec`` is imported by the scenario model; the rest loads on use.
"""
