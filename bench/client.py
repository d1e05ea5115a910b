"""Small HTTP/1.1 load clients for the benchmark, cheap on client CPU.

The client shares the machine's cores with the server, so every microsecond it spends is taken
from the server. Three interchangeable ways to keep N requests in flight:

- "threads":    one thread per client, each with a blocking raw socket (the default);
- "asyncio":    one event loop, asyncio streams, one task per client;
- "httpclient": one thread per client, each with its own http.client.HTTPConnection.

All keep the connection open when the server allows it, as granian (`afterdesk serve`) does:
each client opens one loopback connection and sends all its requests over it. A server that
answers `Connection: close` (gunicorn's sync workers did) makes every request reconnect, and the
measured latency then includes that connect, as a real client's would.
"""

from __future__ import annotations

import asyncio
import http.client
import itertools
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

CLIENT_MODES = ("threads", "asyncio", "httpclient")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    token: str = ""

    def headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.body:
            headers["Content-Type"] = "application/json"
        return headers

    def encode(self, host: str, port: int) -> bytes:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{k}: {v}" for k, v in self.headers().items()]
        lines += [f"Content-Length: {len(self.body)}", "Connection: keep-alive", "", ""]
        return "\r\n".join(lines).encode("latin-1") + self.body


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    started: float
    finished: float

    @property
    def latency(self) -> float:
        return self.finished - self.started


class ProtocolError(Exception):
    pass


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    """Status, Content-Length (-1 when absent) and whether the server closes the connection."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ProtocolError(f"bad status line {lines[0]!r}")
    status = int(parts[1])
    length = -1
    close = parts[0] == b"HTTP/1.0"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"connection":
            close = value.strip().lower() == b"close"
        elif name == b"transfer-encoding" and value.strip().lower() != b"identity":
            raise ProtocolError("chunked responses are not expected from this API")
    return status, length, close


class RawConnection:
    """A blocking HTTP/1.1 connection over a raw socket; reconnects when the server closed it."""

    def __init__(self, host: str, port: int, timeout: float = 60.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.sock: socket.socket | None = None
        self.buffer = b""

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def send(self, raw: bytes) -> Response:
        started = time.perf_counter()
        reused = self.sock is not None
        try:
            return self._exchange(raw, started)
        except (ConnectionError, ProtocolError):
            self.close()
            if not reused:
                raise
            # The server closed an idle kept-alive connection: one retry on a new one.
            return self._exchange(raw, started)

    def _exchange(self, raw: bytes, started: float) -> Response:
        if self.sock is None:
            self.sock = self._connect()
        sock = self.sock
        sock.sendall(raw)
        buffer = self.buffer
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                raise ProtocolError("connection closed before the response head")
            buffer += chunk
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        status, length, close = _parse_head(head)
        if length >= 0:
            while len(buffer) < length:
                chunk = sock.recv(max(65536, length - len(buffer)))
                if not chunk:
                    raise ProtocolError("connection closed inside the response body")
                buffer += chunk
            body, self.buffer = buffer[:length], buffer[length:]
        else:
            chunks = [buffer]
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            body, self.buffer, close = b"".join(chunks), b"", True
        finished = time.perf_counter()
        if close:
            self.close()
        return Response(status, body, started, finished)


def _run_threads(host: str, port: int, raws: Sequence[bytes], clients: int) -> list[Response]:
    results: list[Response | None] = [None] * len(raws)
    counter = itertools.count()
    errors: list[BaseException] = []

    def worker() -> None:
        connection = RawConnection(host, port)
        try:
            while (i := next(counter)) < len(raws):
                results[i] = connection.send(raws[i])
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


def _run_httpclient(
    host: str, port: int, requests: Sequence[Request], clients: int
) -> list[Response]:
    results: list[Response | None] = [None] * len(requests)
    counter = itertools.count()
    errors: list[BaseException] = []

    def worker() -> None:
        connection = http.client.HTTPConnection(host, port, timeout=60)
        try:
            while (i := next(counter)) < len(requests):
                request = requests[i]
                started = time.perf_counter()
                connection.request(
                    request.method,
                    request.path,
                    body=request.body or None,
                    headers=request.headers(),
                )
                response = connection.getresponse()
                body = response.read()
                results[i] = Response(response.status, body, started, time.perf_counter())
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


async def _async_exchange(
    streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None],
    host: str,
    port: int,
    raw: bytes,
) -> Response:
    started = time.perf_counter()
    if streams[0] is None:
        streams[0] = await asyncio.open_connection(host, port)
    reader, writer = streams[0]
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status, length, close = _parse_head(head[:-4])
    body = await reader.readexactly(length) if length >= 0 else await reader.read()
    finished = time.perf_counter()
    if close or length < 0:
        writer.close()
        streams[0] = None
    return Response(status, body, started, finished)


async def _run_asyncio_main(
    host: str, port: int, raws: Sequence[bytes], clients: int
) -> list[Response]:
    results: list[Response | None] = [None] * len(raws)
    counter = itertools.count()

    async def worker() -> None:
        streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = [None]
        try:
            while (i := next(counter)) < len(raws):
                results[i] = await _async_exchange(streams, host, port, raws[i])
        finally:
            if streams[0] is not None:
                streams[0][1].close()

    await asyncio.gather(*(worker() for _ in range(clients)))
    return [r for r in results if r is not None]


def run_concurrently(
    mode: str, host: str, port: int, requests: Sequence[Request], clients: int
) -> list[Response]:
    """Send every request with `clients` in flight at a time; responses in request order."""
    if mode == "httpclient":
        return _run_httpclient(host, port, requests, clients)
    raws = [r.encode(host, port) for r in requests]
    if mode == "threads":
        return _run_threads(host, port, raws, clients)
    if mode == "asyncio":
        return asyncio.run(_run_asyncio_main(host, port, raws, clients))
    raise ValueError(f"unknown client mode {mode!r}; choose one of {', '.join(CLIENT_MODES)}")
