"""Helpers for the explorer's tests: a server in a thread and raw HTTP requests."""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any

from demos.explorer.api import Explorer
from demos.explorer.server import ExplorerServer, serve_in_thread
from nn import MLP


def untrained() -> MLP:
    return MLP(64, [32, 32, 10], seed=0)


def start(explorer: Explorer | None = None) -> ExplorerServer:
    server, _ = serve_in_thread(explorer or Explorer(untrained(), "untrained test model"))
    return server


def request(
    server: ExplorerServer,
    method: str,
    path: str,
    body: Any = None,
    headers: dict | None = None,
) -> tuple[int, dict, Any]:
    """``(status, headers, JSON or bytes)``; ``body``: sent as JSON unless bytes or str."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    h = {}
    if body is not None:
        h["Content-Type"] = "application/json"
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
    h.update(headers or {})
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        ctype = r.getheader("Content-Type", "")
        return r.status, dict(r.getheaders()), json.loads(data) if "json" in ctype else data
    finally:
        conn.close()


def raw(server: ExplorerServer, data: bytes, *, shut: bool = True, chunks: int = 0) -> bytes:
    """Send raw bytes and read the whole answer (the server closes after an error)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        try:
            s.sendall(data)
            if shut:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        return out


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def error_of(answer: bytes) -> str:
    body = answer.split(b"\r\n\r\n", 1)[1]
    return json.loads(body)["error"]
