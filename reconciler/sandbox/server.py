"""The sandbox over HTTP: one loopback port serving pinpoint-sms-voice-v2, RAM and STS.

A request's service is the SigV4 credential scope's service name (``sms-voice``, ``ram``, ``sts``);
unsigned requests are routed by shape (``X-Amz-Target`` → sms-voice, a RAM request path → ram,
an ``Action`` form → sts) so they get the right protocol's "missing authentication" error.
Bodies over ``MAX_BODY`` bytes, malformed JSON, wrong content types, unknown operations and even
handler failures are answered with AWS-style errors; the server never dies on a request.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from reconciler.sandbox.errors import ApiError
from reconciler.sandbox.faults import ConnectionDropped
from reconciler.sandbox.protocols import Headers, RawRequest, RawResponse, RestJsonProtocol, protocol_for
from reconciler.sandbox.registry import RAM, SMS_VOICE, STS
from reconciler.sandbox.wire import Gateway, signing_service

MAX_BODY = 1024 * 1024  # 1 MiB: far above any request of these APIs.
# An oversized body up to this size is read and discarded before the 413 goes out: a client that
# writes its whole body before reading (most do) would otherwise meet a closed socket (a broken
# pipe) instead of the error. Anything larger is refused without reading it.
MAX_DRAIN = 64 * 1024 * 1024


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def guess_service(request: RawRequest) -> str | None:
    found = signing_service(request.headers)
    if found:
        return found
    if request.headers.get("x-amz-target"):
        return SMS_VOICE
    ram = protocol_for(RAM)
    assert isinstance(ram, RestJsonProtocol)
    if any(pattern.match(request.path) for _, pattern, _ in ram.routes):
        return RAM
    if "Action" in request.query or b"Action=" in request.body:
        return STS
    return None


class _Handler(BaseHTTPRequestHandler):
    server: SandboxHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "reconciler-sandbox"
    # Headers and body go out in two writes; with Nagle's algorithm on, the body waits for the
    # client's delayed ACK (~40 ms per request on Linux). TCP_NODELAY sends it at once.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines may carry query strings; keep the console quiet unless asked.
        if self.server.verbose:
            sys.stderr.write("sandbox: " + (format % args) + "\n")

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        headers = Headers({key: value for key, value in self.headers.items()})
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            length = -1
        service_hint = SMS_VOICE
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            if MAX_BODY < length <= MAX_DRAIN:
                self._discard(length)
            request = RawRequest(self.command, parts.path or "/", parse_qs(parts.query), headers, b"")
            service_hint = guess_service(request) or SMS_VOICE
            error = ApiError(
                "RequestEntityTooLargeException" if length > 0 else "SerializationException",
                f"Request body must be between 0 and {MAX_BODY} bytes",
                status=413 if length > 0 else 400,
            )
            self._send(protocol_for(service_hint).encode_error(error, "oversized"))
            return
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            # The client went away mid-request (killed, connection dropped): like any HTTP server,
            # and AWS, never act on a request that did not arrive whole. (A truncated JSON body
            # could otherwise parse as ``{}``: a CreateProtectConfiguration without its tags.)
            self.close_connection = True
            return
        request = RawRequest(
            self.command, parts.path or "/", parse_qs(parts.query, keep_blank_values=True), headers, body
        )
        service = guess_service(request)
        if service is None:
            error = ApiError(
                "UnknownOperationException", "The request matches no sandbox service", status=400
            )
            self._send(protocol_for(SMS_VOICE).encode_error(error, "unrouted"))
            return
        try:
            response = self.server.gateway.handle(service, request)
        except ConnectionDropped:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        except Exception:  # a handler bug must not take the server down
            traceback.print_exc(file=sys.stderr)
            protocol = protocol_for(service)
            response = protocol.encode_error(
                ApiError(protocol.internal_code, "Internal server error", status=500), "internal"
            )
        self._send(response)

    def _discard(self, length: int) -> None:
        with contextlib.suppress(OSError):
            while length > 0:
                chunk = self.rfile.read(min(length, 65536))
                if not chunk:
                    return
                length -= len(chunk)

    def _send(self, response: RawResponse) -> None:
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, gateway: Gateway, host: str = "127.0.0.1", port: int = 0, verbose: bool = False
    ) -> None:
        if not is_loopback(host):
            raise ValueError(f"the sandbox listens on loopback addresses only, not {host!r}")
        self.gateway = gateway
        self.verbose = verbose
        super().__init__((host, port), _Handler)

    @property
    def endpoint(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        return f"http://{name}:{port}"


def start_in_thread(
    gateway: Gateway, host: str = "127.0.0.1", port: int = 0
) -> tuple[SandboxHTTPServer, threading.Thread]:
    """Serve in a daemon thread (for tests and embedding); stop with ``server.shutdown()``."""
    server = SandboxHTTPServer(gateway, host, port)
    thread = threading.Thread(target=server.serve_forever, name="sandbox-http", daemon=True)
    thread.start()
    return server, thread
