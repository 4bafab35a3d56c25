"""Docstring examples of the monitoring modules run and hold; exports are documented."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "steadyml.core.monitoring.windows",
    "steadyml.core.monitoring.measurements",
    "steadyml.core.monitoring.codec",
    "steadyml.core.monitoring.summary",
    "steadyml.core.monitoring.scores",
    "steadyml.core.monitoring.labelled",
    "steadyml.core.monitoring.importance",
    "steadyml.core.monitoring.rules",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("package", ["steadyml.core.monitoring", "steadyml.core.monitoring.checks"])
def test_package_exports_are_documented(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__doc__
    for name in module.__all__:
        value = getattr(module, name)
        if callable(value) or isinstance(value, type):
            assert value.__doc__, name
