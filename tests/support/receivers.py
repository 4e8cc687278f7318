"""Loopback HTTP receivers for the observability tests: a webhook endpoint and an OTLP/HTTP collector.

Stdlib only: `http.server.ThreadingHTTPServer` on 127.0.0.1, port 0. `Receiver.mode` decides
how it answers: "ok" (200), "hang" (reads the request, then never answers until it stops), or
"fail" (HTTP 503). Every POST's path and body is kept. `OtlpReceiver` decodes the bodies of
`/v1/traces` as OTLP protobuf into plain spans.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, mode: str = "ok"):
        self.mode = mode
        self.posts: list[tuple[str, bytes]] = []
        self._released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.posts.append((self.path, body))
                if receiver.mode == "hang":
                    receiver._released.wait(60)
                    return
                self.send_response(503 if receiver.mode == "fail" else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._released.set()
        self.server.shutdown()
        self.server.server_close()

    def json_posts(self) -> list[dict]:
        return [json.loads(body) for _, body in self.posts]

    def wait_for(self, predicate, timeout_s: float = 30.0) -> None:
        deadline = time.time() + timeout_s
        while not predicate():
            if time.time() > deadline:
                raise AssertionError(f"not received within {timeout_s:.0f} s; got {len(self.posts)} posts")
            time.sleep(0.05)


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    attributes: dict
    service: str


def _value(any_value):
    which = any_value.WhichOneof("value")
    if which == "array_value":
        return tuple(_value(v) for v in any_value.array_value.values)
    return getattr(any_value, which) if which else None


class OtlpReceiver(Receiver):
    """A collector's OTLP/HTTP traces endpoint (protobuf), keeping the spans it was sent."""

    def spans(self) -> list[ReceivedSpan]:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        found = []
        for path, body in list(self.posts):
            if path != "/v1/traces":
                continue
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            for resource_spans in request.resource_spans:
                resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                for scope in resource_spans.scope_spans:
                    for span in scope.spans:
                        found.append(ReceivedSpan(span.name, span.trace_id.hex(), span.span_id.hex(),
                                                  span.parent_span_id.hex(), span.kind,
                                                  {a.key: _value(a.value) for a in span.attributes},
                                                  resource.get("service.name", "")))
        return found


def closed_port_url() -> str:
    """A loopback URL nothing listens on: an endpoint that is down."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


class SmtpReceiver:
    """Just enough of an SMTP server on 127.0.0.1 for Luigi's failure e-mails: keeps each message's text."""

    def __init__(self):
        self.messages: list[str] = []
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(4)
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> "SmtpReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._socket.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 localhost\r\n")
            for line in lines:
                command = line.strip().upper()
                if command == b"DATA":
                    conn.sendall(b"354 go on\r\n")
                    body = []
                    for data in lines:
                        if data.rstrip(b"\r\n") == b".":
                            break
                        body.append(data.decode("utf-8", "replace"))
                    self.messages.append("".join(body))
                    conn.sendall(b"250 ok\r\n")
                elif command == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")
