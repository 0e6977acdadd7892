"""gunicorn settings every Signet command line loads (`-c provider/gunicorn_conf.py`): the application
loaded once before the workers fork, and metrics that add up across worker processes.

Preloading: the master imports Signet (settings, apps, URLconf and views; provider/wsgi.py) and the
workers are forked from it, so the pages holding that code are shared between the processes instead
of each worker importing its own copy. gc.freeze() before each fork keeps the collector from writing
to (and so copying) those shared objects. The master opens no database or Redis connection while
loading; each worker opens its own when its first request needs one.

prometheus_client keeps each worker's counters in a file of its own under PROMETHEUS_MULTIPROC_DIR and
sums the files when /metrics is scraped. It reads that variable when it is imported, so it is set here,
before the master loads Signet: to a fresh private folder unless the environment names one.
Costs nothing while SIGNET_METRICS is off: nothing is written.
"""

import gc
import glob
import os
import shutil
import tempfile

_PREFIX = "signet-metrics-"

preload_app = True


def prepare_metrics_folder():
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=_PREFIX)
        return
    # Files left by an earlier run would be summed into this one's figures (and their process ids
    # may be reused): every run starts from zero, as a single process would.
    for path in glob.glob(os.path.join(folder, "*.db")):
        os.remove(path)


# gunicorn runs this file as the module "__config__", before it preloads the application (its first
# hook, on_starting, comes after); the tests import it as provider.gunicorn_conf and call the hooks.
if __name__ == "__config__":
    prepare_metrics_folder()


def pre_fork(server, worker):
    gc.freeze()


def child_exit(server, worker):
    # A dead worker's counters stay in the sum (counters never go down); only its "live" gauges go.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    # Only a folder made above; an operator's own folder is left as it is.
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if os.path.dirname(folder) == tempfile.gettempdir() and os.path.basename(folder).startswith(_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)
