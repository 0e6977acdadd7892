"""A small https server in the test process, serving what a test sets (a jwks_uri, a client ID
metadata document), so fetches with SSRF rules go over real TLS to a loopback address."""

import datetime
import ipaddress
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class HttpsServer:
    """Serves one JSON document (`jwks`, or raw `body`) over https from this process, on any path,
    counting the requests it answers. Its certificate is for localhost and 127.0.0.1: point
    SSL_CERT_FILE at `ca_file` for a fetch to trust it. `delay` seconds pass before each answer."""

    def __init__(self, tmp_path):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .sign(key, hashes.SHA256())
        )
        self.ca_file = tmp_path / "jwks-ca.pem"
        self.ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file = tmp_path / "jwks-key.pem"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.jwks, self.hits, self.paths = {"keys": []}, 0, []
        self.status, self.cache_control, self.body, self.delay = 200, "max-age=3600", None, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits += 1
                server.paths.append(self.path)
                if server.delay:
                    time.sleep(server.delay)
                body = server.body if server.body is not None else json.dumps(server.jwks).encode()
                # A redirect points at a path that serves the keys: following it would succeed.
                status = 200 if self.path == "/elsewhere" else server.status
                self.send_response(status)
                self.send_header("Content-Type", "application/jwk-set+json")
                self.send_header("Cache-Control", server.cache_control)
                if status in (301, 302):
                    self.send_header("Location", f"https://localhost:{server.port}/elsewhere")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self.ca_file), str(key_file))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.url = f"https://localhost:{self.port}/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
