"""Helpers for the web tests (no tests here): a real server on 127.0.0.1 and a free port, in a
thread, stopped when the block ends; bounded polling of a run."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(
    store: Path, token: str | None = None, header_timeout: float = 10.0, **options: Any
) -> Iterator[str]:
    """Serve ``create_app(store, token, **options)`` on 127.0.0.1 with the uvicorn options of
    ``rareflow serve``; yields the base URL."""
    import uvicorn

    from rareflow.web.app import create_app
    from rareflow.web.serving import uvicorn_options

    port = free_port()
    config = uvicorn.Config(
        create_app(store, token, **options),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        **uvicorn_options(header_timeout),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def wait_for_run(client: httpx.Client, run_id: str, seconds: float = 120.0) -> dict[str, Any]:
    """Poll a run until it is complete or failed (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state: dict[str, Any] = client.get(f"/api/runs/{run_id}").json()
        if state["status"] in ("complete", "failed"):
            return state
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish in {seconds} s")
