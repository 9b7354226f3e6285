"""How ``rareflow serve`` runs uvicorn: bounded connections and a deadline for request headers.

uvicorn times out idle keep-alive connections but not a client that opens a connection and
sends its headers slowly or never (a slow-loris); each such socket is held for good. Here a
connection must deliver a whole request head within ``HEADER_TIMEOUT_S`` of opening, or of the
previous response on a kept-alive connection, else it is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_S = 10.0  # assumption: ample for any real client on a LAN or a proxy
KEEP_ALIVE_S = 5  # idle time allowed between requests on one connection
MAX_CONNECTIONS = 200  # beyond this uvicorn answers 503 instead of holding more sockets


def header_deadline_protocol(seconds: float = HEADER_TIMEOUT_S) -> type[H11Protocol]:
    """uvicorn's h11 protocol, closing connections whose request head is late."""

    class HeaderDeadline(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _waiting_after: Any = None  # the cycle in progress when the deadline was set

        def _arm(self) -> None:
            self._disarm()
            self._waiting_after = self.cycle
            self._deadline = self.loop.call_later(seconds, self._late)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _late(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not self._waiting_after:  # a whole request head has arrived
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request on this connection gets the same deadline

    return HeaderDeadline


def uvicorn_options(header_timeout_s: float = HEADER_TIMEOUT_S) -> dict[str, Any]:
    """The options ``rareflow serve`` (and the tests) give uvicorn."""
    return {
        "http": header_deadline_protocol(header_timeout_s),
        "timeout_keep_alive": KEEP_ALIVE_S,
        "limit_concurrency": MAX_CONNECTIONS,
    }
