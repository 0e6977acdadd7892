"""Form POSTs sent by separate OS processes released at the same instant, for races that threads of
one process cannot stand for (a lock held in this interpreter, a connection shared by accident).

Only the standard library is imported here: the spawned children import this module, not Django.
"""

import http.client
import multiprocessing
import os
from urllib.parse import urlencode, urlsplit

# Spawn, not fork: a forked child would inherit the test's database connection and live-server state.
CONTEXT = multiprocessing.get_context("spawn")
TIMEOUT = 60  # a loaded 2-core CI machine starting interpreters, not the race itself


def _post_when_released(barrier, results, index, url, fields):
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
    # Connected before the barrier: only the requests themselves race, not the TCP handshakes.
    connection.connect()
    barrier.wait(TIMEOUT)
    connection.request(
        "POST",
        parts.path,
        body=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    response = connection.getresponse()
    results.put((index, os.getpid(), response.status, response.read().decode()))
    connection.close()


def race_posts(url, fields, processes=2):
    """POST `fields` to `url` from `processes` OS processes at once; [(pid, status, body)] in order."""
    barrier = CONTEXT.Barrier(processes)
    results = CONTEXT.Queue()
    children = [
        CONTEXT.Process(target=_post_when_released, args=(barrier, results, i, url, fields))
        for i in range(processes)
    ]
    for child in children:
        child.start()
    try:
        answers = {i: rest for i, *rest in (results.get(timeout=TIMEOUT) for _ in children)}
    finally:
        for child in children:
            child.join(TIMEOUT)
            if child.is_alive():
                child.kill()
    return [tuple(answers[i]) for i in range(processes)]
