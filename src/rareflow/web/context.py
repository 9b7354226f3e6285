"""What every endpoint needs: the store, the run worker and the network, plus JSON helpers."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass
class Context:
    store: WebStore
    worker: RunWorker
    network: Network

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
