"""Array backends chosen by ``--backend``: numpy (default, always there); cupy or jax if
installed. Never required: asking for one that is missing is a user error, not a crash.

The batch engine is written against numpy; a GPU backend currently serves the statistics
only (see ``to_numpy``), so results are the same whichever backend is chosen.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

import numpy as np

from rareflow.errors import UserInputError

BACKENDS = {"numpy": "numpy", "cupy": "cupy", "jax": "jax.numpy"}


def available() -> list[str]:
    """The backends importable here."""
    found = []
    for name, module in BACKENDS.items():
        try:
            importlib.import_module(module)
        except Exception:  # ImportError, or a CUDA runtime that fails to load
            continue
        found.append(name)
    return found


def get_backend(name: str = "numpy") -> ModuleType:
    """The array module of ``name``; a UserInputError names what is missing."""
    if name not in BACKENDS:
        raise UserInputError("unknown backend", value=name, expected=", ".join(BACKENDS))
    try:
        return importlib.import_module(BACKENDS[name])
    except Exception as exc:
        raise UserInputError(
            f"the {name} backend is not available here ({type(exc).__name__})",
            value=name,
            expected="one of " + ", ".join(available()),
            hint=f"pip install {name} on a machine with a GPU, or use --backend numpy",
        ) from None


def to_numpy(x: Any) -> np.ndarray:
    """A numpy array from any backend's array."""
    if hasattr(x, "get"):  # cupy
        return np.asarray(x.get())
    return np.asarray(x)
