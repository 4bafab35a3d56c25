"""The monitoring rig (a trained census model, its log and store) for notification tests."""

from tests.services.monitoring.conftest import rig, trained

__all__ = ["rig", "trained"]
