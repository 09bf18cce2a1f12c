"""Fixtures of the parallel tests: a private PostgreSQL server to stop, restart, cut off.

``PrivateServer`` initdb's a cluster into a temporary folder and starts it on a free
loopback port with ``pg_ctl`` (as user ``postgres`` when the tests run as root, since the
server refuses to run as root). Tests that only need *a* database use the shared one from
``SLIMTUNE_TEST_POSTGRES_URL``; tests that kill the server need their own.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
from pathlib import Path


def _find_bin() -> Path | None:
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "initdb").exists():
            return d
    found = shutil.which("initdb")
    return Path(found).parent if found else None


PG_BIN = _find_bin()


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PrivateServer:
    """initdb + pg_ctl start/stop/restart of a throw-away cluster on loopback."""

    def __init__(self) -> None:
        if PG_BIN is None:
            raise RuntimeError("no initdb found")
        self.root = os.geteuid() == 0
        self.dir = Path(tempfile.mkdtemp(prefix="slimtune-pgtest-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if self.root:
            shutil.chown(self.dir, "postgres")
        self._run(f"{PG_BIN}/initdb -D {self.data} -A trust -U postgres")
        self.start()
        self._run(f"{PG_BIN}/createdb -h 127.0.0.1 -p {self.port} -U postgres slimtune")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/slimtune"

    def _run(self, cmd: str) -> None:
        argv = ["su", "postgres", "-s", "/bin/sh", "-c", cmd] if self.root else ["sh", "-c", cmd]
        subprocess.run(argv, check=True, capture_output=True, timeout=120)

    def _ctl(self, what: str) -> None:
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run(f"{PG_BIN}/pg_ctl -D {self.data} -l {self.dir}/log -w -m fast -o '{opts}' {what}")

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop")

    def restart(self) -> None:
        self._ctl("restart")

    def close(self) -> None:
        try:
            self.stop()
        except Exception:  # noqa: BLE001 - already stopped
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class ResettingProxy:
    """A TCP proxy to ``port`` on loopback; :meth:`reset` cuts every open connection at
    once with a TCP reset (a network blip), new connections go through again."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self.n_resets = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            s = socket.create_connection(("127.0.0.1", self.target))
            with self._lock:
                self._conns += [c, s]
            threading.Thread(target=self._pipe, args=(c, s), daemon=True).start()
            threading.Thread(target=self._pipe, args=(s, c), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        # Shut both down before closing: the other direction's thread is blocked in recv on
        # one of them, and a close() from here alone would neither wake it nor end the TCP
        # connection (the blocked call keeps the socket alive), so the server's backend
        # would stay connected for ever and pile up to "too many clients".
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                x.close()
            except OSError:
                pass

    def reset(self) -> None:
        import struct

        with self._lock:
            conns, self._conns = self._conns, []
            self.n_resets += 1
        for c in conns:
            # SO_LINGER 0: the close sends RST, as a dropped route or a NAT reset does. The
            # shutdown wakes the pipe thread blocked reading it (a close from another thread
            # would not), which then closes both ends.
            try:
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                c.shutdown(socket.SHUT_RD)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()
        self.reset()


import pytest  # noqa: E402


@pytest.fixture(scope="module")
def pg_server():
    """A PostgreSQL server of this test module's own (skipped without initdb)."""
    if PG_BIN is None:
        pytest.skip("PostgreSQL (initdb) is not installed; CI installs it")
    srv = PrivateServer()
    yield srv
    srv.close()


@pytest.fixture
def resetting_proxy():
    """``make(port)``: a :class:`ResettingProxy` to a server port, closed after the test."""
    made = []

    def make(port: int) -> ResettingProxy:
        made.append(ResettingProxy(port))
        return made[-1]

    yield make
    for p in made:
        p.close()
