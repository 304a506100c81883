"""CPU and memory (RSS, PSS, USS, distinct pages) of process trees, read from /proc (Linux only).

CPU is "% of one core": the utime+stime ticks a process tree spent during a
window, divided by the window's wall time. Resident memory is VmRSS. A
sampler thread also follows the whole machine's busy time (/proc/stat) so a
result can say how much CPU other programs took while it was measured.
"""
import os
import struct
import threading
import time

CLK_TCK = os.sysconf('SC_CLK_TCK')
PAGE_SIZE = os.sysconf('SC_PAGE_SIZE')
MIB = 1024.0 * 1024.0
PAGEMAP_ENTRY = struct.Struct('<Q')  # one per virtual page: bit 63 present, bits 0-54 the frame number
PAGE_PRESENT = 1 << 63
FRAME_MASK = (1 << 55) - 1


def read_stat(pid):
    """(ppid, cpu ticks utime+stime, rss bytes, kernel ticks stime) of ``pid``, or None when gone."""
    try:
        with open('/proc/%d/stat' % pid) as stat_file:
            text = stat_file.read()
    except (IOError, OSError):
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = text[text.rindex(')') + 2:].split()
    ppid, utime, stime, rss_pages = int(fields[1]), int(fields[11]), int(fields[12]), int(fields[21])
    return ppid, utime + stime, rss_pages * PAGE_SIZE, stime


def read_cmdline(pid):
    """The argument list of ``pid`` ([] when it is gone)."""
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as cmdline_file:
            return [arg.decode('utf-8', 'replace') for arg in cmdline_file.read().split(b'\0') if arg]
    except (IOError, OSError):
        return []


def all_parents():
    """{pid: ppid} of every process on the machine."""
    parents = {}
    for name in os.listdir('/proc'):
        if name.isdigit():
            stat = read_stat(int(name))
            if stat is not None:
                parents[int(name)] = stat[0]
    return parents


def descendants(root_pid, parents=None):
    """``root_pid`` and every process below it."""
    parents = all_parents() if parents is None else parents
    children = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    tree, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def find_descendant(root_pid, program_names):
    """The pid below ``root_pid`` running a program (or script) named in ``program_names``."""
    for pid in descendants(root_pid):
        if pid != root_pid and any(os.path.basename(arg) in program_names
                                   for arg in read_cmdline(pid)[:2]):
            return pid
    return None


def machine_ticks():
    """(busy, total) CPU ticks of the whole machine, all cores summed."""
    with open('/proc/stat') as stat_file:
        values = [int(v) for v in stat_file.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values[:8]) - idle, sum(values[:8])


class Sampler(object):
    """Measures CPU and RSS of named groups of process trees over one window.

    ``groups`` maps a name to a list of root pids; each root's descendants are
    included. ``start()`` opens the window, ``stop()`` closes it and returns
    {name: {'cpu_pct': .., 'rss_mb': .., 'rss_peak_mb': .., 'pids': n}} plus a
    '_machine' entry with the busy cores of the whole machine.
    """

    interval = 0.5  # seconds between RSS samples; CPU only needs the window's ends

    def __init__(self, groups):
        self.groups = dict(groups)
        self._first_ticks = {}  # (group, pid) -> (ticks, kernel ticks) at window start (0 if born inside)
        self._last = {}  # (group, pid) -> (ticks, rss, kernel ticks) at the last sample
        self._peak_rss = {}  # group -> highest summed RSS seen
        self._stop_event = threading.Event()
        self._thread = threading.Thread(target=self._run, name='procstat-sampler')
        self._thread.daemon = True
        self._started = None
        self._machine_start = None

    def _group_pids(self):
        parents = all_parents()
        return dict((name, [pid for root in roots for pid in descendants(root, parents)])
                    for name, roots in self.groups.items())

    def _sample(self, first):
        for name, pids in self._group_pids().items():
            rss_sum = 0
            for pid in pids:
                stat = read_stat(pid)
                if stat is None:
                    continue
                if first:
                    self._first_ticks[name, pid] = (stat[1], stat[3])
                else:
                    self._first_ticks.setdefault((name, pid), (0, 0))
                self._last[name, pid] = (stat[1], stat[2], stat[3])
                rss_sum += stat[2]
            self._peak_rss[name] = max(self._peak_rss.get(name, 0), rss_sum)

    def _run(self):
        while not self._stop_event.wait(self.interval):
            self._sample(first=False)

    def start(self):
        self._machine_start = machine_ticks()
        self._started = time.time()
        self._sample(first=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop_event.set()
        self._thread.join(5.0)
        self._sample(first=False)
        elapsed = time.time() - self._started
        busy_end, total_end = machine_ticks()
        result = {}
        for name in self.groups:
            members = [(pid, ticks, rss, kernel) for (group, pid), (ticks, rss, kernel) in self._last.items()
                       if group == name]
            ticks = sum(t - self._first_ticks[name, pid][0] for pid, t, _, _ in members)
            kernel_ticks = sum(k - self._first_ticks[name, pid][1] for pid, _, _, k in members)
            result[name] = {
                'cpu_pct': 100.0 * ticks / CLK_TCK / elapsed,
                'kernel_cpu_pct': 100.0 * kernel_ticks / CLK_TCK / elapsed,  # system calls: sockets, copies
                'rss_mb': sum(rss for _, _, rss, _ in members) / 1e6,
                'rss_peak_mb': self._peak_rss.get(name, 0) / 1e6,
                'pids': len(members),
            }
        busy_ticks = busy_end - self._machine_start[0]
        result['_machine'] = {
            'busy_cores_pct': 100.0 * busy_ticks / CLK_TCK / elapsed,
            'cores': os.cpu_count(),
            'seconds': elapsed,
        }
        return result


def rss_bytes(pid):
    """Current VmRSS of one process in bytes (0 when it is gone)."""
    stat = read_stat(pid)
    return 0 if stat is None else stat[2]


def memory(pid):
    """{'rss_mb', 'pss_mb', 'uss_mb'} of one process from /proc/PID/smaps_rollup (None when gone).

    PSS divides every shared page among the processes mapping it, so the PSS of a pipeline's
    processes adds up to what they hold together; but other programs on the machine that map
    the same libraries (OpenCV, Python) take a share of them too. USS: its private pages only.
    """
    fields = {}
    try:
        with open('/proc/%d/smaps_rollup' % pid) as rollup:
            for line in rollup:
                parts = line.split()
                if len(parts) == 3 and parts[2] == 'kB':
                    fields[parts[0].rstrip(':')] = int(parts[1]) * 1024
    except (IOError, OSError):
        return None
    return {'rss_mb': fields.get('Rss', 0) / MIB, 'pss_mb': fields.get('Pss', 0) / MIB,
            'uss_mb': (fields.get('Private_Clean', 0) + fields.get('Private_Dirty', 0)) / MIB}


def footprint_mb(pids):
    """MiB of the distinct physical pages resident in any of ``pids``: what these processes
    hold on a machine where nothing else shares their libraries (a page two of them map counts
    once, a page they share with other programs counts whole). None without root, which
    /proc/PID/pagemap needs to show page frame numbers."""
    frames = set()
    for pid in pids:
        try:
            with open('/proc/%d/maps' % pid) as maps, open('/proc/%d/pagemap' % pid, 'rb') as pagemap:
                for line in maps:
                    start, end = (int(address, 16) // PAGE_SIZE for address in line.split()[0].split('-'))
                    if line.rstrip().endswith('[vsyscall]'):
                        continue
                    pagemap.seek(start * 8)
                    entries = pagemap.read((end - start) * 8)
                    for (entry,) in PAGEMAP_ENTRY.iter_unpack(entries):
                        if entry & PAGE_PRESENT:
                            frames.add(entry & FRAME_MASK)
        except (IOError, OSError):
            continue
    if frames == {0}:  # frame numbers read as 0: not allowed to see them
        return None
    return len(frames) * PAGE_SIZE / MIB
