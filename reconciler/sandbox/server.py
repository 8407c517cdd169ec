"""The sandbox over HTTP: one loopback port serving pinpoint-sms-voice-v2, RAM, STS and CloudTrail.

A request's service is the SigV4 credential scope's service name (``sms-voice``, ``ram``, ``sts``,
``cloudtrail``); unsigned requests are routed by shape (``X-Amz-Target`` → sms-voice, or cloudtrail
for CloudTrail's target prefix, a RAM request path → ram,
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
from reconciler.sandbox.registry import CLOUDTRAIL, RAM, SMS_VOICE, STS
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
    target = request.headers.get("x-amz-target")
    if target:
        cloudtrail_prefix = protocol_for(CLOUDTRAIL).model.metadata["targetPrefix"]
        return CLOUDTRAIL if target.startswith(cloudtrail_prefix + ".") else SMS_VOICE
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
        if headers.get("transfer-encoding") is not None:
            self._serve_chunked(parts, headers)
            return
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
        self._answer(parts, headers, body)

    def _serve_chunked(self, parts: Any, headers: Headers) -> None:
        """A ``Transfer-Encoding`` body: decoded when it is ``chunked`` (RFC 9112 §7.1: "A recipient
        MUST be able to parse the chunked transfer coding"), refused otherwise, never run as ``{}``.

        - Another transfer coding: 501 (RFC 9112 §6.1: "A server that receives a request message with
          a transfer coding it does not understand SHOULD respond with 501 (Not Implemented)").
        - ``Content-Length`` as well: 400 and the connection closed (RFC 9112 §6.3 allows rejecting
          it as a possible request-smuggling attempt; strictest reading).
        - Malformed framing or a client gone mid-body: ``SerializationException`` (400) and the
          connection closed, nothing acted on; more than ``MAX_BODY`` decoded bytes: 413, as for a
          declared length.
        """
        self.close_connection = True
        request = RawRequest(self.command, parts.path or "/", parse_qs(parts.query), headers, b"")
        protocol = protocol_for(guess_service(request) or SMS_VOICE)
        codings = [c.strip().lower() for c in str(headers.get("transfer-encoding")).split(",")]
        if codings != ["chunked"]:
            error = ApiError("NotImplemented", f"Transfer-Encoding {headers.get('transfer-encoding')!r} is not supported", status=501)
            self._send(protocol.encode_error(error, "transfer-encoding"))
            return
        if headers.get("content-length") is not None:
            error = ApiError(
                "SerializationException", "A request must not have both Transfer-Encoding and Content-Length", status=400
            )
            self._send(protocol.encode_error(error, "transfer-encoding"))
            return
        try:
            body = read_chunked(self.rfile, MAX_BODY)
        except BodyTooLarge:
            # As for a declared length: read what the client is still sending (up to MAX_DRAIN, and
            # only while it keeps sending) so it meets the 413, not a reset connection.
            self._drain_unknown(MAX_DRAIN)
            error = ApiError("RequestEntityTooLargeException", f"Request body must be between 0 and {MAX_BODY} bytes", status=413)
            self._send(protocol.encode_error(error, "oversized"))
            return
        except ValueError:  # malformed or cut-off framing: nothing arrived whole, nothing is acted on
            error = ApiError("SerializationException", "Malformed chunked request body", status=400)
            with contextlib.suppress(OSError):
                self._send(protocol.encode_error(error, "chunked"))
            return
        except OSError:
            return
        self.close_connection = False
        self._answer(parts, headers, body)

    def _answer(self, parts: Any, headers: Headers, body: bytes) -> None:
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

    def _drain_unknown(self, limit: int, idle_seconds: float = 0.5) -> None:
        """Discard the rest of a body of unknown length until the client pauses or stops."""
        previous = self.connection.gettimeout()
        with contextlib.suppress(OSError):
            self.connection.settimeout(idle_seconds)
            while limit > 0:
                chunk = self.rfile.read1(min(limit, 65536))
                if not chunk:
                    break
                limit -= len(chunk)
        with contextlib.suppress(OSError):
            self.connection.settimeout(previous)

    def _send(self, response: RawResponse) -> None:
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve


class BodyTooLarge(Exception):
    pass


def read_chunked(stream: Any, limit: int) -> bytes:
    """Decode a chunked body (RFC 9112 §7.1) from ``stream``; ``ValueError`` on bad framing or a
    stream that ends early, :class:`BodyTooLarge` past ``limit`` bytes. Trailer fields are read and
    dropped (RFC 9112 §7.1.2 lets a recipient discard them)."""
    body = bytearray()
    while True:
        line = stream.readline(1024)
        if not line.endswith(b"\r\n"):
            raise ValueError("chunk size line")
        size_text = line[:-2].split(b";", 1)[0].strip()
        if not size_text or any(c not in b"0123456789abcdefABCDEF" for c in size_text):
            raise ValueError("chunk size")
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > limit:
            raise BodyTooLarge
        chunk = stream.read(size)
        if len(chunk) < size or stream.read(2) != b"\r\n":
            raise ValueError("chunk data")
        body += chunk
    for _ in range(100):  # trailer section, ended by an empty line
        line = stream.readline(8192)
        if line == b"\r\n":
            return bytes(body)
        if not line.endswith(b"\r\n"):
            raise ValueError("trailer")
    raise ValueError("trailer section too long")


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
