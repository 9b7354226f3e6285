"""``rareflow serve``: the HTTP API and dashboard (FastAPI + uvicorn), imported lazily."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from rareflow.cli.run import StoreOption


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    store: StoreOption = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="Require this token on every request (default: $RAREFLOW_TOKEN, preferred: "
            "an option shows in `ps`). Needed to bind to anything but 127.0.0.1.",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=8, help="Parallel runs.")] = 2,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Dataset directory (CSV or Parquet); default: bundled."),
    ] = None,
) -> None:
    """Serve the HTTP API (/docs, /openapi.json) and the dashboard (/)."""
    from rareflow.errors import require_extra

    require_extra("web", "rareflow serve")
    import uvicorn

    from rareflow.web.app import create_app
    from rareflow.web.security import LOOPBACK, TOKEN_ENV, check_bind
    from rareflow.web.serving import uvicorn_options

    token = token or os.environ.get(TOKEN_ENV) or None
    check_bind(host, token)
    app = create_app(store, token, workers=workers, hosts=(*LOOPBACK, host), data_dir=data)
    where = f"http://{host}:{port}/" + ("?token=..." if token else "")
    typer.echo(f"rareflow dashboard at {where} (store {app.state.ctx.store.path})", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", **uvicorn_options())


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
