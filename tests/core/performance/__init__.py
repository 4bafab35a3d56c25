"""Tests of steadyml.core.performance."""
