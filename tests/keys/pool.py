"""Real RSA keys generated once per test session (generation costs 50-300 ms a key)."""

import threading


class KeyPool:
    """Real RSA keys, generated once per test session and handed out afresh to every test.

    Each test sees each key at most once (kids stay unique within a test, as generation guarantees),
    and its database is new, so reuse across tests changes nothing a test can observe. It spares
    the suite a 50-300 ms RSA generation for nearly every key a test creates.
    """

    def __init__(self, generate):
        self.generate = generate
        self.keys = {}
        self.lock = threading.Lock()

    def dealer(self):
        handed_out = {}

        def generate_rsa_key(size):
            with self.lock:
                pool = self.keys.setdefault(size, [])
                index = handed_out.get(size, 0)
                handed_out[size] = index + 1
                if index == len(pool):
                    pool.append(self.generate(size))
                kid, public, private = pool[index]
            return kid, dict(public), private

        return generate_rsa_key
