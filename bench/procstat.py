"""What the kernel says about processes and the machine: CPU time, memory, descriptions (Linux /proc)."""

import os
import platform
import re
import subprocess

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    """Fields of /proc/PID/stat after the command name (which may hold spaces and parentheses)."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2 :].split()


def parent_map():
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                parents[int(name)] = int(_stat_fields(name)[1])
            except (OSError, ValueError, IndexError):
                continue  # the process ended while we looked
    return parents


def tree(pid):
    """pid and every live descendant."""
    children = {}
    for child, parent in parent_map().items():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def cpu_seconds(pid):
    """utime + stime of one process, in seconds (0 if it is gone)."""
    try:
        fields = _stat_fields(pid)
    except OSError:
        return 0.0
    # After the name: state(0) ppid(1) ... utime(11) stime(12), as in proc(5) fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def tree_cpu_seconds(pid):
    return sum(cpu_seconds(p) for p in tree(pid))


class MonotonicCpu:
    """Total CPU seconds of a changing set of processes: an exited process keeps its last reading."""

    def __init__(self):
        self.last = {}

    def update(self, readings):
        for pid, seconds in readings.items():
            self.last[pid] = max(seconds, self.last.get(pid, 0.0))
        return sum(self.last.values())


def reset_peak_rss(pid):
    """Restart VmHWM from the current RSS (proc(5): clear_refs "5"); False if not permitted."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def postgres_backends(dbname):
    """PostgreSQL backends serving `dbname` (titled 'postgres: [CLUSTER: ]USER DB HOST STATE')."""
    pids = []
    pattern = re.compile(rf"^postgres: (\S+: )?\S+ {re.escape(dbname)} ")
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                title = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if pattern.match(title):
            pids.append(int(name))
    return pids


def memory_kb(pid):
    """{'rss': VmRSS, 'hwm': VmHWM} in kB (peak RSS is the kernel's high-water mark)."""
    values = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    values["rss" if key == "VmRSS" else "hwm"] = int(value.split()[0])
    except OSError:
        pass
    return values


def parse_smaps_rollup(text):
    """The kB counters of /proc/PID/smaps_rollup by lower-case name ('pss', 'rss', 'swap_pss', ...)."""
    values = {}
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        parts = rest.split()
        # The first line names the address range, not a counter.
        if sep and len(parts) == 2 and parts[1] == "kB" and parts[0].isdigit():
            values[name.strip().lower()] = int(parts[0])
    return values


def smaps_kb(pid):
    """parse_smaps_rollup of one process, or {} if it is gone or its memory map is not readable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return parse_smaps_rollup(f.read())
    except OSError:
        return {}


def pss_total_kb(pids):
    """Summed proportional set size of `pids`: pages shared between them are counted once in all,
    so the sum is what the group costs the machine. None if any process could not be read."""
    readings = [smaps_kb(pid) for pid in pids]
    if not readings or any("pss" not in r for r in readings):
        return None
    # Swapped-out pages are still the group's memory.
    return sum(r["pss"] + r.get("swappss", 0) for r in readings)


def _first_line(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unavailable"
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else "unavailable"


def machine():
    """A description of this machine for the results (CPU, memory, load, software versions)."""
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(next(line for line in f if line.startswith("MemTotal:")).split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "node": _first_line(["node", "--version"]),
        "wrk": _first_line(["wrk", "--version"]).split(" [")[0],
        "postgres": _first_line(["psql", "--version"]),
    }
