"""rareflow: simulate rare-earth supply chains under trade policy.

>>> import rareflow
>>> net = rareflow.load_baseline()
>>> result = rareflow.run("reimpose-oct-2025")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rareflow.scenarios.generated import register
from rareflow.version import __version__

__all__ = ["__version__", "load_baseline", "load_scenario", "run"]

if TYPE_CHECKING:
    from rareflow.data.network import Network


def _history() -> Any:
    from rareflow.history.scenario import history_to_last_month

    return history_to_last_month()


register("history", _history)  # the scenario layer does not import the history layer


def load_baseline(data_dir: str | None = None) -> Network:
    """The bundled baseline network (or a dataset directory in the same schema)."""
    from rareflow.data.network import load_baseline as _load

    return _load(data_dir)


def load_scenario(name_or_path: str, **kwargs: Any) -> Any:
    """A bundled scenario by name, or a YAML file, validated."""
    from rareflow.scenarios.load import load_scenario as _load

    return _load(name_or_path, **kwargs)


def run(scenario: Any = "baseline", **kwargs: Any) -> Any:
    """Simulate a scenario (name, path or ``Scenario``); returns a ``RunResult``."""
    from rareflow.engine.run import run as _run

    return _run(scenario, **kwargs)
