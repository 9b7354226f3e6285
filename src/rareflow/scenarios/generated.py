"""Scenarios built by code rather than read from YAML, registered by the layers that build
them (e.g. ``history``, registered by the package root from ``rareflow.history``), so that
the scenario layer never imports from above. Kept free of heavy imports: the root imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

GENERATED: dict[str, Callable[[], Any]] = {}  # name -> a function returning a Scenario


def register(name: str, build: Callable[[], Any]) -> None:
    """Make ``load_scenario(name)`` call ``build()``."""
    GENERATED[name] = build
