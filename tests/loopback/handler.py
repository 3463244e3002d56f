"""The HTTP side of the loopback server: routing, reading requests, writing JSON and SSE.

Standard library only: a ``ThreadingHTTPServer`` on 127.0.0.1, HTTP/1.1 keep-alive, SSE bodies
chunked or close-delimited and written one event per write, faults as real socket behaviour.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from tests.loopback import embeddings, routing, wire
from tests.loopback.catalog import filter_catalog
from tests.loopback.endpoints import endpoints_answer
from tests.loopback.records import RecordedRequest, Route
from tests.loopback.request_schema import MAX_ROUTE_MODELS
from tests.loopback.steps import Delayed, ErrorReply, Reply, Step, StreamFault

if TYPE_CHECKING:
    from tests.loopback.server import ScriptedOpenRouter

__all__ = ["API_PREFIX", "MAX_ROUTE_MODELS", "HttpServer"]

API_PREFIX = "/api/v1"


class HttpServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its owner and can cut every open connection."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], owner: ScriptedOpenRouter) -> None:
        self.owner = owner
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def cut_connections(self) -> None:
        """Shut down every open client socket so handler threads end promptly."""
        with self.connections_lock:
            for sock in self.connections:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Record a handler crash as a failure instead of printing a traceback."""
        self.owner._fail(f"loopback handler crashed: {sys.exc_info()[1]!r}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HttpServer

    def setup(self) -> None:
        super().setup()
        # Small writes go out at once (Nagle + delayed ACK would add ~40 ms to each reply).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.current_thread().name = f"loopback-openrouter:{self.server.server_address[1]}"
        with self.server.connections_lock:
            self.server.connections.add(self.connection)
            if self.server.owner._closing.is_set():  # accepted while closing: cut_connections missed it
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def handle_one_request(self) -> None:
        """Serve one request; a client that went away just ends the connection."""
        try:
            super().handle_one_request()
        except OSError:
            self.close_connection = True

    # -- routing -----------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        owner = self.server.owner
        url = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        raw = self._read_body(headers)
        try:
            body: Any = json.loads(raw) if raw else None
            bad_json = False
        except ValueError:
            body, bad_json = None, True
        number = owner._record(
            RecordedRequest(
                self.command, url.path, parse_qs(url.query), headers, body, raw, self.client_address[1]
            )
        )
        denied = owner._authorised(headers)
        if denied is not None:
            self._send_json(401, wire.error_body(401, denied))
        elif self.command == "GET" and url.path == f"{API_PREFIX}/models":
            self._send_json(200, {"data": filter_catalog(owner.catalog, parse_qs(url.query))})
        elif self.command == "GET" and _is_endpoints(url.path):
            self._send_json(*endpoints_answer(url.path.removeprefix(f"{API_PREFIX}/models/"), owner.catalog))
        elif self.command == "GET" and url.path == f"{API_PREFIX}/key":
            if isinstance(owner.key, ErrorReply):
                self._send_error(owner.key)
            else:
                self._send_json(200, {"data": dict(owner.key)})
        elif self.command == "GET" and url.path == f"{API_PREFIX}/generation":
            self._send_json(*owner.generations.answer(parse_qs(url.query)))
        elif self.command == "GET" and url.path == f"{API_PREFIX}/embeddings/models":
            self._send_json(200, {"data": embeddings.embedding_models(owner.catalog)})
        elif self.command == "POST" and url.path == f"{API_PREFIX}/embeddings":
            answer = owner.embeddings.answer(None if bad_json else body)
            if isinstance(answer, ErrorReply):
                self._send_error(answer)
            else:
                self._send_json(200, answer)
        elif self.command == "POST" and url.path == f"{API_PREFIX}/chat/completions":
            if bad_json or not isinstance(body, dict):
                owner._fail(f"request #{number}: body is not a JSON object")
                self._send_json(400, wire.error_body(400, "Invalid JSON body"))
            else:
                self._chat(number, body)
        else:
            owner._fail(f"request #{number}: unexpected {self.command} {url.path}")
            self._send_json(404, wire.error_body(404, f"Not Found: {self.command} {url.path}"))

    def _read_body(self, headers: Mapping[str, str]) -> bytes:
        if "chunked" not in headers.get("transfer-encoding", "").lower():
            return self.rfile.read(int(headers.get("content-length") or 0))
        parts = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            parts.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline().strip():  # trailers, up to the blank line
            pass
        return b"".join(parts)

    def _chat(self, number: int, body: dict[str, Any]) -> None:
        owner = self.server.owner
        rejected = owner._admit(number, body)
        if rejected is not None:
            self._send_error(rejected)
            return
        effective = owner._effective(number, body)  # with its preset's settings
        if isinstance(effective, ErrorReply):
            self._send_error(effective)
            return
        route = _route_models({**effective, "model": body.get("model")})  # ids as requested
        if route is not None and len(effective["models"]) > MAX_ROUTE_MODELS:
            self._send_json(400, wire.error_body(400, "'models' array must have 3 items or fewer."))
            return
        tried: list[str] = []
        candidates: list[Any] = route or [body.get("model")]
        for position, model in enumerate(candidates, 1):
            answered = owner._answering(model)
            resolved: Reply | ErrorReply | StreamFault | None
            requested = [str(m) for m in candidates if m]
            resolved = routing.unavailable(answered, requested, effective, owner.catalog)
            if resolved is None:  # some endpoint may serve it: take the model's step
                step = owner._next_step(number, model)
                if step is None:
                    message = (
                        f"loopback script exhausted: no step left for model {model!r} (request #{number})"
                    )
                    self._send_json(500, wire.error_body(500, message))
                    return
                resolved = self._resolve(step, body)
                if resolved is None:
                    return
                tried.append(str(model or "openrouter/auto"))
            if route is not None and isinstance(resolved, ErrorReply) and position < len(route):
                continue  # OpenRouter falls back to the next model before the first token
            if route is not None:
                final = None if isinstance(resolved, ErrorReply) else str(model)
                owner._route(Route(number, tuple(route), tuple(tried), final))
            self._answer(resolved, body, answered)
            return

    def _resolve(self, step: Step, body: dict[str, Any]) -> Reply | ErrorReply | StreamFault | None:
        """Wait out delays and call script functions; None when the answer is already sent or moot."""
        owner = self.server.owner
        while True:
            if isinstance(step, Delayed):
                if owner._closing.wait(step.seconds):
                    self.close_connection = True
                    return None
                step = step.step
            elif callable(step) and not isinstance(step, Reply | ErrorReply | StreamFault):
                try:
                    step = step(body)
                except Exception as exc:
                    owner._fail(f"script function {step!r} raised {exc!r}")
                    self._send_json(500, wire.error_body(500, f"loopback script function raised {exc!r}"))
                    return None
            else:
                return step

    def _answer(self, step: Reply | ErrorReply | StreamFault, body: dict[str, Any], model: str) -> None:
        owner = self.server.owner
        streamed = body.get("stream") is True
        if isinstance(step, ErrorReply):
            self._send_error(step)
        elif isinstance(step, Reply):
            ids, gen_id = owner._call_ids(step), owner._gen_id()
            owner.generations.record(gen_id, step, model=model, streamed=streamed)
            if streamed:
                chunks = wire.reply_chunks(step, gen_id=gen_id, model=model, call_ids=ids)
                self._stream(wire.sse_body(chunks, keepalives=step.keepalives), gen_id, step.framing)
            else:
                self._send_json(200, wire.completion(step, gen_id=gen_id, model=model, call_ids=ids), gen_id)
        else:
            self._fault(step, model, streamed)

    # -- writing -----------------------------------------------------------------------------

    def _fault(self, fault: StreamFault, model: str, streamed: bool) -> None:
        owner = self.server.owner
        ids, gen_id = owner._call_ids(fault), owner._gen_id()
        if not streamed:
            if fault.kind == "error":
                self._send_json(
                    200, wire.fault_completion(fault, gen_id=gen_id, model=model, call_ids=ids), gen_id
                )
                return
            if fault.kind == "stall":
                owner._closing.wait(fault.stall_seconds)
            self._drop()
            return
        chunks = wire.fault_chunks(fault, gen_id=gen_id, model=model, call_ids=ids)
        done = fault.kind == "error" and fault.done_after_error
        events = wire.sse_body(chunks, keepalives=fault.partial.keepalives, done=done)
        self._stream(events, gen_id, fault.partial.framing, end=fault.kind == "error")
        if fault.kind == "stall":
            owner._closing.wait(fault.stall_seconds)
        if fault.kind != "error":
            self._drop()

    def _drop(self) -> None:
        """Cut the connection with no further bytes (no chunked terminator, no [DONE])."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send_json(self, status: int, payload: Any, gen_id: str | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if gen_id is not None:
            self.send_header("X-Generation-Id", gen_id)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, step: ErrorReply) -> None:
        if step.raw_body is not None:
            data = step.raw_body.encode()
        else:
            code = step.code if step.code is not None else step.status
            data = json.dumps(wire.error_body(code, step.message, step.metadata, step.fields)).encode()
        self.send_response(step.status)
        self.send_header("Content-Type", step.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in step.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, events: Iterable[str], gen_id: str, framing: str, *, end: bool = True) -> None:
        """Send SSE events one write each; ``end=False`` leaves the body unterminated for a drop."""
        chunked = framing == "chunked"
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Generation-Id", gen_id)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        for event in events:
            data = event.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            self.wfile.flush()
        if chunked and end:
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _route_models(body: Mapping[str, Any]) -> list[str] | None:
    """The order a ``models`` request is tried in: ``model`` first, then ``models``, each once."""
    models = body.get("models")
    if not isinstance(models, list) or not models:
        return None
    order: list[str] = []
    for model in [body.get("model"), *models]:
        if isinstance(model, str) and model and model not in order:
            order.append(model)
    return order


def _is_endpoints(path: str) -> bool:
    """``/api/v1/models/{author}/{slug}/endpoints``."""
    rest = path.removeprefix(f"{API_PREFIX}/models/")
    return rest != path and rest.endswith("/endpoints") and rest.count("/") == 2
