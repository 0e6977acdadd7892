"""A small TCP proxy to make the provider unreachable on demand, as a network outage would."""

import contextlib
import socket
import threading


class TCPProxy:
    """Forwards 127.0.0.1:<port> to `upstream`.

    Modes: "forward"; "refuse" (every connection is closed at once, as if the provider were down);
    "hang" (connections are accepted and never answered, as if it were stuck). Switching away
    from "forward" also cuts the connections already open, so pooled keep-alive connections fail too.
    """

    def __init__(self, upstream):
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.mode = "forward"
        self.connections = 0  # connection attempts seen, in every mode
        self._open = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def set_mode(self, mode):
        assert mode in ("forward", "refuse", "hang")
        with self._lock:
            self.mode = mode
            doomed, self._open = self._open, set()
        for sock in doomed:
            _close(sock)

    def close(self):
        self._closed = True
        _close(self.listener)
        self.set_mode("refuse")

    def _accept_loop(self):
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                mode = self.mode
                if mode == "refuse":
                    _close(client)
                    continue
                self._open.add(client)
            if mode == "forward":
                threading.Thread(target=self._forward, args=(client,), daemon=True).start()
            # "hang": keep the socket open and unread until the mode changes or the proxy closes.

    def _forward(self, client):
        try:
            upstream = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            _close(client)
            return
        upstream.settimeout(None)
        with self._lock:
            self._open.add(upstream)
        threading.Thread(target=_pump, args=(upstream, client), daemon=True).start()
        _pump(client, upstream)


def _pump(source, target):
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(target)


def _close(sock):
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
