"""Who may talk to the service, and how much they may send.

- ``check_bind``: without a token the service binds only to a loopback address.
- ``Guard`` (ASGI middleware), on every HTTP request:
  a token, when one is set (``Authorization: Bearer``, ``X-Rareflow-Token`` or the cookie the
  page sets after ``/?token=...``); without a token, a loopback ``Host`` header (no DNS
  rebinding); for writes, a JSON or YAML body (no cross-site 'simple' form posts), an
  ``Origin`` (when sent) matching the host, and a body no bigger than the limit.
  The token travels in a URL once: the first ``/?token=...`` is answered with a redirect to
  ``/`` that sets an HttpOnly, SameSite=Strict cookie (``Secure`` over https, including behind
  a TLS proxy that uvicorn trusts for ``X-Forwarded-Proto``); later query tokens are refused.
- ``SecurityHeaders``: a Content-Security-Policy (scripts and everything else from this origin
  only, no framing), ``X-Frame-Options: DENY``, ``nosniff`` and ``no-referrer`` on every answer.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

from rareflow.errors import UserInputError
from rareflow.web.inputs import JSON_TYPES, MAX_BODY_BYTES, YAML_TYPES, media_type

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_ENV = "RAREFLOW_TOKEN"
COOKIE = "rareflow_token"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def check_bind(host: str, token: str | None) -> None:
    """Refuse a non-loopback address unless a token protects the service."""
    if host not in LOOPBACK and not token:
        raise UserInputError(
            "refusing to bind to a non-loopback address without a token",
            column="--host",
            value=host,
            expected="127.0.0.1, or a token (--token or $RAREFLOW_TOKEN)",
            hint="Anyone who can reach the port could run simulations and read results",
        )


class Refused(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _hostname(netloc: str) -> str:
    return (urlsplit(f"//{netloc}").hostname or "").lower()


class Guard:
    def __init__(self, app: ASGIApp, token: str | None, hosts: tuple[str, ...] = LOOPBACK) -> None:
        self.app, self.token, self.hosts = app, token or None, hosts
        self._exchanged = False  # a token came in a URL once; no more after that

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        try:
            from_query = self._check_token(scope, headers)
            self._check_host(headers)
            body = await self._check_write(scope, headers, receive)
        except Refused as refused:
            await _refuse(refused, send)
            return
        if from_query:  # swap the URL's token for a cookie, and take it out of the URL
            self._exchanged = True
            await _redirect_home(send, self._cookie(scope))
            return
        if body is not None:
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    # -- checks ----------------------------------------------------------------------------
    def _check_token(self, scope: Scope, headers: dict[str, str]) -> bool:
        """Passes when no token is set or a matching one came; True if it came in the query."""
        if self.token is None:
            return False
        auth = headers.get("authorization", "")
        offered = [
            auth[7:].strip() if auth.lower().startswith("bearer ") else "",
            headers.get("x-rareflow-token", ""),
            _cookie(headers.get("cookie", "")),
        ]
        if any(self._matches(t) for t in offered):
            return False
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if scope["path"] == "/" and self._matches((query.get("token") or [""])[0]):
            if not self._exchanged:
                return True
            raise Refused(
                401, "the token may come in a URL only once (it ends up in histories and logs); "
                "send 'Authorization: Bearer TOKEN', or restart the server for a new link",
                {"www-authenticate": "Bearer"},
            )  # fmt: skip
        raise Refused(
            401, "a token is required: send 'Authorization: Bearer TOKEN' or open /?token=TOKEN",
            {"www-authenticate": "Bearer"},
        )  # fmt: skip

    def _matches(self, offered: str) -> bool:
        assert self.token is not None
        return bool(offered) and hmac.compare_digest(offered.encode(), self.token.encode())

    def _check_host(self, headers: dict[str, str]) -> None:
        if self.token is None and _hostname(headers.get("host", "")) not in self.hosts:
            raise Refused(403, "this service answers only requests addressed to a loopback host")

    async def _check_write(
        self, scope: Scope, headers: dict[str, str], receive: Receive
    ) -> bytes | None:
        if scope["method"] not in WRITES:
            return None
        origin = headers.get("origin")
        if origin and _hostname(urlsplit(origin).netloc) != _hostname(headers.get("host", "")):
            raise Refused(403, "cross-origin requests are not accepted")
        length = headers.get("content-length") or "0"
        if not length.isdigit():
            raise Refused(400, "invalid Content-Length")
        size = int(length)
        if size > MAX_BODY_BYTES:
            raise Refused(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
        body = await _read(receive)
        kind = media_type(headers.get("content-type"))
        if body and kind not in JSON_TYPES + YAML_TYPES:
            raise Refused(415, "send application/json or application/yaml")
        return body

    def _cookie(self, scope: Scope) -> str:
        """The session cookie; ``Secure`` when the request came over TLS (directly, or from a
        proxy uvicorn trusts, via ``X-Forwarded-Proto``)."""
        assert self.token is not None
        secure = "; Secure" if scope.get("scheme") in ("https", "wss") else ""
        return f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict{secure}"


async def _redirect_home(send: Send, cookie: str) -> None:
    headers = [(b"location", b"/"), (b"set-cookie", cookie.encode()), (b"content-length", b"0"),
               (b"cache-control", b"no-store")]  # fmt: skip
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",  # no inline scripts: the dashboard and /docs load files
        "style-src 'self' 'unsafe-inline'",  # Plotly and Swagger UI set styles inline
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, sending)


def _cookie(header: str) -> str:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:
        return ""
    morsel = jar.get(COOKIE)
    return morsel.value if morsel else ""


async def _read(receive: Receive) -> bytes:
    """The whole body, refusing it as soon as it passes the limit."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise Refused(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, then: Receive) -> Receive:
    """Hands the buffered body over once, then the original channel (disconnects)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await then()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _refuse(refused: Refused, send: Send) -> None:
    body = json.dumps({"detail": refused.detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.encode(), v.encode()) for k, v in refused.headers.items()]
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
