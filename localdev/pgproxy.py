"""A TCP proxy in front of Postgres that records what the application sends it.

The application's engine connects through it, so the tests can count round trips: each simple
query ('Q' message) and each extended-protocol Sync ('S') is one round trip, and the statements
parsed before it ('P') are what that round trip carried. The statement-timeout preamble that the
application sends with every statement (todo_common.db) is counted apart, in `timed`, so that
`round_trips` shows the work. It can also cut connections the way a dying network does, without
telling the client.
"""

import socket
import struct
import threading
import time
from contextlib import suppress

_UNTYPED_PREAMBLE = {80877103, 80877104}  # SSLRequest, GSSENCRequest: the startup message follows
_TIMEOUT_PREAMBLE = "SELECT set_config('statement_timeout',"


class CountingProxy:
    def __init__(self, upstream: str | tuple[str, int], *, delay: float = 0.0) -> None:
        self.upstream = upstream
        self.delay = delay  # added before each batch the client sends: simulated network latency
        self.round_trips: list[list[str]] = []
        self.timed: list[bool] = []  # per round trip: whether it carried the statement-timeout preamble
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._dead: set[socket.socket] = set()
        self.refusing = False  # when set, new connections are closed at once (a database that is down)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> None:
        with self._lock:
            self.round_trips.clear()
            self.timed.clear()

    def statements(self) -> list[str]:
        with self._lock:
            return [sql for trip in self.round_trips for sql in trip]

    def blackhole(self) -> None:
        """Drop every upstream connection without a word to the client (a frozen environment, a NAT
        timeout): the client finds out only when it next sends something."""
        with self._lock:
            for client, server in self._pairs:
                self._dead.add(client)
                with suppress(OSError):
                    server.close()
            self._pairs.clear()

    def _connect_upstream(self) -> socket.socket:
        if isinstance(self.upstream, str):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(self.upstream)
            return sock
        return socket.create_connection(self.upstream)

    def _accept(self) -> None:
        while True:
            client, _ = self._server.accept()
            if self.refusing:
                client.close()
                continue
            server = self._connect_upstream()
            # Like libpq and Postgres themselves: without it, Nagle's algorithm and delayed ACKs
            # stall multi-packet answers by ~40 ms.
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if server.family != socket.AF_UNIX:
                server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._pairs.append((client, server))
            threading.Thread(target=self._client_to_server, args=(client, server), daemon=True).start()
            threading.Thread(target=self._server_to_client, args=(server, client), daemon=True).start()

    def _server_to_client(self, server: socket.socket, client: socket.socket) -> None:
        with suppress(OSError):
            while data := server.recv(65536):
                client.sendall(data)
        with self._lock:
            silent = client in self._dead
        if not silent:
            with suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)  # close() alone waits for the other pump's recv()
                client.close()

    def _client_to_server(self, client: socket.socket, server: socket.socket) -> None:
        buffer = bytearray()
        typed = False
        pending: list[str] = []
        with suppress(OSError):
            while data := client.recv(65536):
                with self._lock:
                    dead = client in self._dead
                if dead:  # like a reset from a peer that forgot the connection
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    break
                # Recorded before it is forwarded: by the time the client has its answer, the
                # round trip that produced it is counted.
                buffer += data
                typed = self._parse(buffer, typed, pending)
                if self.delay:
                    time.sleep(self.delay)
                server.sendall(data)
        with suppress(OSError):
            client.close()
            server.close()

    def _parse(self, buffer: bytearray, typed: bool, pending: list[str]) -> bool:
        while True:
            if not typed:
                if len(buffer) < 8:
                    return typed
                length, code = struct.unpack("!ii", buffer[:8])
                if len(buffer) < length:
                    return typed
                del buffer[:length]
                typed = code not in _UNTYPED_PREAMBLE
                continue
            if len(buffer) < 5:
                return typed
            kind, length = chr(buffer[0]), struct.unpack("!i", buffer[1:5])[0]
            if len(buffer) < 1 + length:
                return typed
            payload = bytes(buffer[5 : 1 + length])
            del buffer[: 1 + length]
            if kind == "Q":
                self._record([payload.split(b"\0", 1)[0].decode()])
            elif kind == "P":
                pending.append(payload.split(b"\0")[1].decode())
            elif kind == "S":
                self._record(pending[:])
                pending.clear()

    def _record(self, statements: list[str]) -> None:
        work = [sql for sql in statements if not sql.startswith(_TIMEOUT_PREAMBLE)]
        with self._lock:
            self.round_trips.append(work)
            self.timed.append(len(work) < len(statements))
