"""A relying party's back-channel logout endpoint for tests: a real HTTP server on a free port.

It records every POST (its form body parsed) and answers with the next status of `statuses`
(the last one repeats), so a test can make it fail a given number of times.
"""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class LogoutReceiver:
    def __init__(self, statuses=(200,)):
        self.statuses = list(statuses)
        self.location = None  # sent as Location with every answer when set (a redirecting receiver)
        self.delay = 0  # seconds to wait before answering (a receiver that hangs)
        self.received = []  # (path, content type, parsed form body)
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = parse_qs(self.rfile.read(length).decode())
                with receiver.arrived:
                    status = receiver.statuses[min(len(receiver.received), len(receiver.statuses) - 1)]
                    receiver.received.append((self.path, self.headers.get("Content-Type"), body))
                    receiver.arrived.notify_all()
                time.sleep(receiver.delay)
                self.send_response(status)
                self.send_header("Cache-Control", "no-store")
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def uri(self):
        return f"http://127.0.0.1:{self.server.server_port}/backchannel-logout"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count, timeout=60):
        """Wait until `count` POSTs arrived (a deadline against hanging, not a speed check)."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout)
        return self.received

    def tokens(self):
        return [body["logout_token"][0] for _path, _type, body in self.received]
