"""What every endpoint needs: the store, the run worker and the network, plus JSON helpers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import Request
from pydantic import BaseModel

from rareflow.io.export import jsonable

if TYPE_CHECKING:
    import pandas as pd

    from rareflow.data.network import Network
    from rareflow.web.storage import WebStore
    from rareflow.web.worker import RunWorker


class ErrorBody(BaseModel):
    """Every error: a sentence, and for bad input each problem with the field it is in."""

    detail: str
    problems: list[dict[str, Any]] = []


MAX_HEAVY = 4  # assumption: whole-run reads at once; a 240-month run is ~50 MB of results


class TooBusy(Exception):
    """Too many whole-run reads (downloads, charts, comparisons) at once: answered 429."""


@dataclass
class Context:
    store: WebStore
    worker: RunWorker
    network: Network
    heavy: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(MAX_HEAVY)
    )

    def take_heavy(self) -> None:
        """Take one of the MAX_HEAVY slots for a whole-run read, or refuse at once."""
        if not self.heavy.acquire(blocking=False):
            raise TooBusy(f"{MAX_HEAVY} large reads are already in progress; retry shortly")

    @contextmanager
    def heavy_slot(self) -> Iterator[None]:
        self.take_heavy()
        try:
            yield
        finally:
            self.heavy.release()

    @property
    def stages(self) -> dict[str, str]:
        products = self.network.tables["products"]
        return dict(zip(products["product"], products["stage"], strict=True))


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-safe records (NaN as null, numpy scalars as Python)."""
    result: list[dict[str, Any]] = jsonable(frame.to_dict(orient="records"))
    return result
