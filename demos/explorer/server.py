"""The explorer's HTTP side: the standard library's ``ThreadingHTTPServer`` on 127.0.0.1.

Routes: ``GET /`` (the page), ``GET /static/<file>`` (its script and style,
read once at start-up into a table: a client's path is only ever a key in it,
never a file name), ``GET /api/info``, ``GET /api/testdigit``, and ``POST
/api/session | reset | predict | step | sgd | paths | train | pause`` (JSON bodies).

Defences, each answered with a 4xx and a one-line JSON ``{"error": ...}``:
a ``Host`` other than this server's (DNS rebinding; every one is checked, and
two are refused), a foreign ``Origin`` on
a POST, a body without ``Content-Length`` or over ``MAX_BODY`` bytes (refused
before reading it), a non-JSON content type, bad UTF-8 or JSON (NaN and
Infinity included, nesting too deep), a query string of more than
``MAX_QUERY_FIELDS`` fields (on every path: it is parsed once, in
:meth:`Handler._handle`; a path ignores what it does not use), unknown paths
and methods.  Protocol errors the
standard library answers with a 5xx (an unknown method: 501, an HTTP version it
does not speak: 505) are answered with 405 and 400 instead: no client input
gets a 5xx.  Every response says ``Cache-Control: no-store``; the page has a
content security policy allowing only its own files.

Connections: each request (waiting for it, its line, headers and body) has
``TIMEOUT`` seconds in all, and so has its answer: the deadline bounds the
sum of the reads, not each read, so a client sending a byte at a time is
dropped like a silent one.  At most ``MAX_CONNECTIONS`` connections are served
at once; one more is answered ``503`` and closed, and so is a request that
finds the process out of file descriptors.  A refused request's unread body
is read and dropped when the connection closes (up to ``DRAIN_LIMIT`` bytes
and ``LINGER`` seconds, whatever the path or method), so the client gets
the answer rather than a connection reset.
"""

from __future__ import annotations

import errno
import io
import json
import socket
import sys
import threading
import time
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from autograd.draw import RenderError

from .api import ClientError, Explorer

HOST = "127.0.0.1"
MAX_BODY = 64 * 1024  # the largest request (64x64 ink) is about 17 KB
DRAIN_LIMIT = 64 * 1024 * 1024  # read and drop up to this much of a refused body, so the
# client sees the 4xx rather than a connection reset
LINGER = 2.0  # seconds spent dropping a refused body at the close
TIMEOUT = 10.0  # seconds for a whole request (and again for its answer), not for each read
MAX_CONNECTIONS = 64  # served at once; one page uses two or three
MAX_QUERY_FIELDS = 16  # the API's queries have at most three
BUSY = HTTPStatus.SERVICE_UNAVAILABLE
STATIC = Path(__file__).resolve().parent / "static"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def static_files(folder: Path = STATIC) -> dict[str, tuple[bytes, str]]:
    """``{url path: (bytes, content type)}`` for the page's files, read once."""
    files = {
        f"/static/{p.name}": (p.read_bytes(), TYPES[p.suffix])
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix in TYPES
    }
    files["/"] = files["/static/index.html"]
    return files


def _error_json(message: str) -> bytes:
    return (json.dumps({"error": " ".join(message.split())}) + "\n").encode()


def _busy_answer(reason: str) -> bytes:
    body = _error_json(reason)
    return (f"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 1\r\nCache-Control: no-store\r\n"
            "Connection: close\r\n\r\n").encode() + body


def out_of_descriptors(e: BaseException | None) -> bool:
    """Whether ``e``, or an error it was raised from, says the process has no file descriptor
    left (Graphviz's pipes and every new connection need some)."""
    seen = 0
    while e is not None and seen < 10:
        if isinstance(e, OSError) and e.errno in (errno.EMFILE, errno.ENFILE):
            return True
        e, seen = e.__cause__ or e.__context__, seen + 1
    return False


class DeadlineIO(io.RawIOBase):
    """A connection's socket whose reads and writes all end by ``handler.deadline``.

    A socket timeout bounds one read; a client that sends a byte just before each
    timeout would hold its thread forever.  Each call here gets only the time left.
    """

    def __init__(self, sock: socket.socket, handler: Handler) -> None:
        self._sock = sock
        self._handler = handler

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def _time_left(self) -> None:
        left = self._handler.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request's deadline has passed")
        self._sock.settimeout(left)

    def readinto(self, buffer: Any) -> int:
        self._time_left()
        return self._sock.recv_into(buffer)

    def write(self, data: Any) -> int:
        view = memoryview(data)
        sent = 0
        while sent < len(view):
            self._time_left()
            sent += self._sock.send(view[sent:])
        return sent


class ExplorerServer(ThreadingHTTPServer):
    """A threading HTTP server holding the explorer and its page's files."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, explorer: Explorer, port: int = 0, verbose: bool = False) -> None:
        self.explorer = explorer
        self.verbose = verbose
        self.files = static_files()
        super().__init__((HOST, port), Handler)
        self.port = self.server_address[1]
        self.url = f"http://{HOST}:{self.port}/"
        self.hosts = {f"{HOST}:{self.port}", f"localhost:{self.port}"}
        self.origins = {f"http://{h}" for h in self.hosts}
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    # --- connections: a cap, a 503 beyond it, a clean close ------------------------------

    def get_request(self) -> tuple[socket.socket, Any]:
        try:
            return super().get_request()
        except OSError as e:
            if out_of_descriptors(e):
                time.sleep(0.05)  # the connection waits in the backlog; do not spin on it
            raise

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self._refuse_busy(request, f"busy: {MAX_CONNECTIONS} connections are open; "
                              "try again shortly")
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def _refuse_busy(self, request: socket.socket, reason: str) -> None:
        """Answer 503 without a thread or a wait: drop what has arrived, answer, close."""
        try:
            request.setblocking(False)
            for _ in range(16):
                if not request.recv(65536):
                    break
        except OSError:
            pass
        try:
            request.send(_busy_answer(reason))
            request.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.close_request(request)

    def shutdown_request(self, request: Any) -> None:
        """Close after reading and dropping what the client still sends (a refused body):
        closing a socket with unread data resets the connection, and the client would
        lose the answer."""
        try:
            request.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER
            dropped = 0
            while dropped < DRAIN_LIMIT:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                request.settimeout(left)
                chunk = request.recv(1 << 16)
                if not chunk:
                    break
                dropped += len(chunk)
        except OSError:
            pass
        self.close_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-answer is not worth a traceback.
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    server: ExplorerServer
    server_version = "valuegrad-explorer"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT  # seconds for a whole request, then for its answer (see DeadlineIO)
    deadline = 0.0

    GET_ROUTES = ("/api/info", "/api/testdigit")
    POST_ROUTES = ("/api/session", "/api/reset", "/api/predict", "/api/step", "/api/sgd",
                   "/api/paths", "/api/train", "/api/pause")

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the standard library's reader and writer, replaced by ones
        self.wfile.close()  # that keep to the request's deadline
        raw = DeadlineIO(self.connection, self)
        self.rfile = io.BufferedReader(raw)
        self.wfile = raw
        self.deadline = time.monotonic() + self.timeout

    def handle_one_request(self) -> None:
        self.deadline = time.monotonic() + self.timeout
        self.query: dict[str, list[str]] = {}
        super().handle_one_request()

    # --- answers --------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, ctype: str, headers: dict | None = None) -> None:
        self.deadline = time.monotonic() + self.timeout  # the answer's own time
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        if ctype.startswith("text/html"):
            self.send_header("Content-Security-Policy", CSP)
            self.send_header("X-Frame-Options", "DENY")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if status >= 400:
            self.close_connection = True  # what is left of the request is not read
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        body = json.dumps(data, allow_nan=False, separators=(",", ":")).encode()
        self._send(status, body, "application/json")

    def _refuse(self, e: ClientError, headers: dict | None = None) -> None:
        self._send(e.status, _error_json(e.message), "application/json", headers)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The standard library's protocol errors, as one-line JSON and never a 5xx."""
        if code == HTTPStatus.NOT_IMPLEMENTED:  # an unknown method
            code, message = HTTPStatus.METHOD_NOT_ALLOWED, f"method not allowed: {message}"
        elif code >= 500:
            code = HTTPStatus.BAD_REQUEST
        text = message or HTTPStatus(code).phrase
        if len(text) > 100:
            text = text[:97] + "..."
        if self.request_version == "HTTP/0.9":  # a request line it could not read:
            self.request_version = "HTTP/1.0"  # answer with a status line all the same
        try:
            self._send(code, _error_json(text), "application/json")
        except OSError:
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)

    def __getattr__(self, name: str) -> Callable[[], None]:
        # Any other method (PUT, DELETE, FOO...) gets a 405, where the standard library says 501.
        if name.startswith("do_"):
            return self._other_method
        raise AttributeError(name)

    # --- methods --------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._handle(self._get)

    def do_HEAD(self) -> None:
        self._handle(self._get)

    def do_POST(self) -> None:
        self._handle(self._post)

    def _other_method(self) -> None:
        self._handle(self._not_allowed)

    def _not_allowed(self, path: str) -> None:
        allow = "POST" if path in self.POST_ROUTES else "GET, HEAD"
        raise ClientError(405, f"{self.command} {path}: method not allowed; use {allow}")

    def _handle(self, method: Callable[[str], None]) -> None:
        url = urlsplit(self.path)
        path = url.path
        try:
            self._check_host()
            self.query = _parse_query(url.query)
            method(path)
        except ClientError as e:
            headers = None
            if e.status == 405:
                headers = {"Allow": "POST" if path in self.POST_ROUTES else "GET, HEAD"}
            elif e.status == BUSY:
                headers = {"Retry-After": "2"}
            self._refuse(e, headers)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except (OSError, RenderError) as e:
            if not out_of_descriptors(e):
                self._internal_error(e)
                return
            self._refuse(ClientError(BUSY, "busy: the server is out of file descriptors; "
                                     "try again shortly"), {"Retry-After": "1"})
        except Exception as e:
            self._internal_error(e)

    def _internal_error(self, e: Exception) -> None:
        # A bug, not the client's fault: say so, keep serving.
        traceback.print_exc()
        self._refuse(ClientError(500, f"internal error: {type(e).__name__}: {e}"))

    def _check_host(self) -> None:
        """Every ``Host`` header must name this server (DNS rebinding); two are refused."""
        hosts = self.headers.get_all("Host") or []
        if len(hosts) > 1:
            raise ClientError(400, f"Host: expected one header, got {len(hosts)}")
        for host in hosts:
            if host not in self.server.hosts:
                raise ClientError(
                    400, f"Host: expected {sorted(self.server.hosts)[0]}, got {host[:60]!r}"
                )

    def _get(self, path: str) -> None:
        files = self.server.files
        if path in files:
            body, ctype = files[path]
            self._send(200, body, ctype)
            return
        if path == "/api/info":
            self._json(200, self.server.explorer.info())
            return
        if path == "/api/testdigit":
            self._json(200, self.server.explorer.testdigit(self.query))
            return
        if path in self.POST_ROUTES:
            self._not_allowed(path)
        raise ClientError(404, f"not found: {path[:80]!r}")

    def _post(self, path: str) -> None:
        if path not in self.POST_ROUTES:
            if path in self.GET_ROUTES or path in self.server.files:
                self._not_allowed(path)
            raise ClientError(404, f"not found: {path[:80]!r}")
        origin = self.headers.get("Origin")
        if origin is not None and origin not in self.server.origins:
            raise ClientError(403, f"Origin: requests from {origin[:60]!r} are not accepted")
        body = self._read_json()
        explorer = self.server.explorer
        endpoint = {
            "/api/session": explorer.new_session,
            "/api/reset": explorer.reset,
            "/api/predict": explorer.predict,
            "/api/step": explorer.step,
            "/api/sgd": explorer.sgd,
            "/api/paths": explorer.paths,
            "/api/train": explorer.train,
            "/api/pause": explorer.pause,
        }[path]
        self._json(200, endpoint(body))

    # --- the body -------------------------------------------------------------------------

    def _read_json(self) -> Any:
        if self.headers.get("Transfer-Encoding") is not None:
            raise ClientError(411, "Transfer-Encoding is not accepted; send a Content-Length")
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            raise ClientError(411, "Content-Length: missing; a POST needs a JSON body")
        text = lengths[0].strip()
        if len(lengths) > 1 or not (text.isascii() and text.isdigit()) or len(text) > 12:
            raise ClientError(
                400, f"Content-Length: expected one whole number of bytes, got {lengths[0][:30]!r}"
            )
        n = int(text)
        if n > MAX_BODY:  # refused unread: the close drops it (ExplorerServer.shutdown_request)
            raise ClientError(413, f"body too large: {n} bytes, the limit is {MAX_BODY}")
        ctype = self.headers.get("Content-Type", "")
        if ctype.split(";")[0].strip().lower() != "application/json":
            raise ClientError(415, f"Content-Type: expected application/json, got {ctype[:60]!r}")
        data = self.rfile.read(n)
        if len(data) < n:
            raise ClientError(400, f"body: ended after {len(data)} of {n} bytes")
        try:
            return json.loads(data.decode("utf-8"), parse_constant=_no_constant)
        except UnicodeDecodeError as e:
            raise ClientError(400, f"body: not UTF-8 ({e.reason} at byte {e.start})") from None
        except RecursionError:
            raise ClientError(400, "body: JSON nested too deeply") from None
        except ValueError as e:  # JSONDecodeError, and ints of more than 4300 digits
            raise ClientError(400, f"body: not valid JSON: {e}") from None


def _parse_query(query: str) -> dict[str, list[str]]:
    """``?a=1&b=2`` as ``{name: [values]}``, for every path; too many fields is a 400.

    Empty fields (``&&``) are skipped, as ``parse_qs`` skips them; they are not counted.
    """
    fields = [f for f in query.split("&") if f]
    if len(fields) > MAX_QUERY_FIELDS:
        raise ClientError(400, f"query: expected at most {MAX_QUERY_FIELDS} fields, "
                          f"got {len(fields)}")
    return parse_qs(query, keep_blank_values=True)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def serve_in_thread(explorer: Explorer, port: int = 0) -> tuple[ExplorerServer, threading.Thread]:
    """Start a server in a daemon thread (for tests); stop it with ``server.shutdown()``."""
    server = ExplorerServer(explorer, port)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="explorer")
    thread.start()
    return server, thread
