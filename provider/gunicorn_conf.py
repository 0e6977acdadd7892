"""gunicorn settings every Signet command line loads (`-c provider/gunicorn_conf.py`): metrics that add
up across worker processes.

prometheus_client keeps each worker's counters in a file of its own under PROMETHEUS_MULTIPROC_DIR and
sums the files when /metrics is scraped. It reads that variable when it is imported, so the master sets
it here before any worker loads Signet: to a fresh private folder unless the environment names one.
(With --preload the master imports Signet first: then set PROMETHEUS_MULTIPROC_DIR yourself.)
Costs nothing while SIGNET_METRICS is off: nothing is written.
"""

import glob
import os
import shutil
import tempfile

_PREFIX = "signet-metrics-"


def on_starting(server):
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=_PREFIX)
        return
    # Files left by an earlier run would be summed into this one's figures (and their process ids
    # may be reused): every run starts from zero, as a single process would.
    for path in glob.glob(os.path.join(folder, "*.db")):
        os.remove(path)


def child_exit(server, worker):
    # A dead worker's counters stay in the sum (counters never go down); only its "live" gauges go.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    # Only a folder made above; an operator's own folder is left as it is.
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if os.path.dirname(folder) == tempfile.gettempdir() and os.path.basename(folder).startswith(_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)
