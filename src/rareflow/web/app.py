"""The FastAPI application: JSON API under /api, the dashboard at /, OpenAPI at /openapi.json.

``create_app(store_path, token)`` builds it around one results store (the CLI's, by default)
and starts the background run worker; jobs a previous server left unfinished are marked failed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from rareflow.errors import UserInputError
from rareflow.io.export import jsonable
from rareflow.io.store import StoreError
from rareflow.scenarios.load import ScenarioError
from rareflow.web.context import ErrorBody, TooBusy
from rareflow.web.security import LOOPBACK, Guard, SecurityHeaders
from rareflow.web.storage import RETRY_SECONDS, StoreBusy
from rareflow.web.worker import QueueFull

STATIC = Path(__file__).parent / "static"
log = logging.getLogger(__name__)
_ERROR = {"model": ErrorBody}
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {**_ERROR, "description": "Not found"},
    422: {**_ERROR, "description": "Invalid request or scenario (problems name the fields)"},
    400: {**_ERROR, "description": "Bad input (detail, problems)"},
    401: {**_ERROR, "description": "A token is required"},
    403: {**_ERROR, "description": "Host or origin not accepted"},
    413: {**_ERROR, "description": "Body too large"},
    415: {**_ERROR, "description": "Send application/json or application/yaml"},
    429: {**_ERROR, "description": "Too many runs or large reads at once; retry"},
    503: {**_ERROR, "description": "The results store is busy (retry) or cannot be used"},
}


def plotly_bundle() -> Path:
    """plotly.min.js as shipped inside the plotly Python package (no CDN, no copy of ours)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def swagger_assets() -> Path:
    """Swagger UI's JavaScript and CSS as shipped in the swagger-ui-py package."""
    import swagger_ui

    return Path(swagger_ui.__file__).parent / "static"


def public(text: str, request: Request) -> str:
    """``text`` with the store's directory taken out: callers see file names, not paths."""
    path = request.app.state.ctx.store.path
    for form in {str(path.resolve()), str(path.absolute()), str(path)}:
        text = text.replace(form, path.name)
    return text


def _field(loc: Any) -> str:
    return ".".join(str(part) for part in loc)


def _handlers(app: FastAPI) -> None:
    from rareflow.web.inputs import UnknownScenario, problems

    @app.exception_handler(ScenarioError)
    async def scenario_error(_: Request, error: ScenarioError) -> JSONResponse:
        status = 404 if isinstance(error, UnknownScenario) else 422
        return JSONResponse({"detail": str(error), "problems": problems(error)}, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def request_error(_: Request, error: RequestValidationError) -> JSONResponse:
        found = [
            {
                "field": _field(e["loc"]),
                "error": e["msg"],
                "message": f"{_field(e['loc'])}: {e['msg']}",
            }
            for e in error.errors()
        ]
        detail = "; ".join(p["message"] for p in found[:5]) or "invalid request"
        return JSONResponse(jsonable({"detail": detail, "problems": found}), status_code=422)

    @app.exception_handler(UserInputError)
    async def user_error(_: Request, error: UserInputError) -> JSONResponse:
        return JSONResponse({"detail": str(error), "problems": [error.as_dict()]}, status_code=400)

    @app.exception_handler(StoreError)
    async def store_error(request: Request, error: StoreError) -> JSONResponse:
        detail = public(f"the results store cannot be used: {error.message}", request)
        return JSONResponse({"detail": detail}, status_code=503, headers={"retry-after": "30"})

    @app.exception_handler(StoreBusy)
    async def busy(_: Request, error: StoreBusy) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=503, headers={"retry-after": "2"})

    @app.exception_handler(TooBusy)
    async def too_busy(_: Request, error: TooBusy) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=429, headers={"retry-after": "2"})

    @app.exception_handler(QueueFull)
    async def full(_: Request, error: QueueFull) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=429, headers={"retry-after": "5"})


def _pages(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"cache-control": "no-store"})

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> Response:
        return FileResponse(plotly_bundle(), media_type="text/javascript")

    @app.get("/docs", include_in_schema=False)
    def docs() -> FileResponse:
        """Swagger UI from the installed swagger-ui-py package: no CDN."""
        return FileResponse(STATIC / "docs.html", headers={"cache-control": "no-store"})

    @app.get(
        "/api/health",
        tags=["service"],
        summary="Liveness, and whether the results store can be used",
        responses={503: {"description": "The results store is damaged or unreadable"}},
    )
    def health(request: Request) -> JSONResponse:
        ctx = request.app.state.ctx
        problem = ctx.store.health()
        body: dict[str, Any] = {
            "status": "ok" if problem is None else "unhealthy",
            "store": {"file": ctx.store.path.name, "ok": problem is None},  # no paths: see docs
        }
        if problem is not None:
            body["store"]["detail"] = public(problem, request)
        return JSONResponse(body, status_code=200 if problem is None else 503)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/swagger", StaticFiles(directory=swagger_assets()), name="swagger")


def create_app(
    store_path: str | Path | None = None,
    token: str | None = None,
    *,
    workers: int = 2,
    hosts: tuple[str, ...] = LOOPBACK,
    retry_seconds: float = RETRY_SECONDS,
    data_dir: str | Path | None = None,
) -> FastAPI:
    """The application around the results store at ``store_path`` (default: the CLI's) and
    the dataset in ``data_dir`` (default: the bundled baseline)."""
    from rareflow.data.network import load_network
    from rareflow.web import (
        api_data,
        api_deals,
        api_exposure,
        api_history,
        api_live,
        api_runs,
        api_scenarios,
    )
    from rareflow.web.context import Context
    from rareflow.web.storage import WebStore
    from rareflow.web.worker import RunWorker

    store = WebStore(store_path, retry_seconds)
    network = load_network(data_dir)
    worker = RunWorker(store, network, workers=workers)
    try:
        store.fail_interrupted()  # what a previous server left running will never finish
    except (StoreError, StoreBusy) as error:  # serve anyway: /api/health says what is wrong
        log.warning("results store %s: %s", store.path, error)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        worker.shutdown()

    app = FastAPI(
        title="rareflow",
        summary="Rare-earth supply chains under trade policy: data, scenarios, runs, results.",
        version=_version(),
        lifespan=lifespan,
        responses=ERRORS,
        docs_url=None,  # served by _pages from local assets
        redoc_url=None,  # ReDoc would come from a CDN
    )
    app.state.ctx = Context(store=store, worker=worker, network=network)
    _handlers(app)
    routers = (api_data, api_scenarios, api_runs, api_live, api_exposure, api_deals, api_history)
    for router in (module.router for module in routers):
        app.include_router(router)
    _pages(app)
    app.add_middleware(Guard, token=token, hosts=hosts)
    app.add_middleware(SecurityHeaders)  # outermost: refusals get the headers too
    return app


def _version() -> str:
    from rareflow.version import __version__

    return str(__version__)
