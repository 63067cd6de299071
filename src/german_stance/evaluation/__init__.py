"""Evaluation: metrics with intervals, baselines, per-task reports with plots, and comparisons of setups."""
