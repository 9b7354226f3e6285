"""Optional parts, installed as extras so that the core install stays light:

- ``web``: the HTTP API and dashboard (``rareflow serve``, ``rareflow.web``): fastapi, uvicorn,
  swagger-ui-py;
- ``dask``: Monte Carlo on a dask cluster (``--executor dask``): dask, distributed;
- ``economy``: input-output tables read by pymrio.

``require(extra, what)`` raises a ``UserInputError`` (exit 2) naming the missing packages and
the ``pip install 'rareflow[EXTRA]'`` that brings them.
"""

from __future__ import annotations

import importlib

from rareflow.errors import UserInputError

EXTRAS: dict[str, tuple[str, ...]] = {  # extra -> modules it provides
    "web": ("fastapi", "uvicorn", "swagger_ui"),
    "dask": ("dask", "distributed"),
    "economy": ("pymrio",),
}


def missing(extra: str) -> list[str]:
    """The modules of ``extra`` that cannot be imported."""
    absent = []
    for module in EXTRAS[extra]:
        try:
            importlib.import_module(module)
        except ImportError:
            absent.append(module)
    return absent


def require(extra: str, what: str) -> None:
    """Raise a clear error when ``what`` (e.g. 'rareflow serve') lacks its extra's packages."""
    absent = missing(extra)
    if absent:
        raise UserInputError(
            f"{what} needs the optional package{'s' if len(absent) > 1 else ''} "
            f"{', '.join(absent)}, not installed",
            hint=f"Install them with: pip install 'rareflow[{extra}]'",
        )
