"""The AWS Lambda Runtime API, as much of it as one invocation needs, for starting a function image locally.

AWS starts a function image and its Runtime Interface Client asks ``AWS_LAMBDA_RUNTIME_API`` for the next event,
then posts the handler's result. This server hands out the given events in order, records each response or
error, and holds further ``next`` calls (as AWS does between invocations) until it is closed.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/2018-06-01/runtime"


class RuntimeApi:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.pending = list(events)
        self.results: dict[str, dict[str, Any]] = {}  # request id -> {"response"|"error": body}
        self.done = threading.Event()
        self.closed = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self.send_error(404)
                    return
                if not api.pending:
                    api.closed.wait(60)
                    self.send_error(410)
                    return
                event = api.pending.pop(0)
                request_id = str(uuid.uuid4())
                body = json.dumps(event).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int((time.time() + 300) * 1000)))
                self.send_header(
                    "Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:lithops"
                )
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = self.path.removeprefix(f"{PREFIX}/").split("/")
                if parts[0] == "invocation" and len(parts) == 3 and parts[2] in ("response", "error"):
                    api.results[parts[1]] = {parts[2]: json.loads(body or b"null")}
                elif parts[:2] == ["init", "error"]:
                    api.results["init"] = {"error": json.loads(body or b"null")}
                else:
                    self.send_error(404)
                    return
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if not api.pending:
                    api.done.set()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def __enter__(self) -> RuntimeApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()
