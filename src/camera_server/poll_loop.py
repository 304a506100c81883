"""One thread serving many non-blocking sockets with poll(): the loop both the request-head reader
and the stream writer run.

It owns the wake-up socket pair (a byte wakes the thread; wake() sends at most one until the
thread has read it), the registry of connections (oldest first), the poll() timeout from the
earliest deadline, and the rule that a failure costs one connection, never the thread. Runs on
Python 2.7 and 3 (select.poll, no selectors).
"""
import errno
import math
import select
import socket
import sys
import traceback
from collections import OrderedDict

from camera_server.compat import monotonic, poll
from camera_server.tls import WANT_IO

WOULD_BLOCK = (errno.EAGAIN, errno.EWOULDBLOCK)


def recv_now(sock, size):
    """What a non-blocking (TLS) socket has now: b'' at the end, None when nothing has come yet."""
    try:
        return sock.recv(size)
    except WANT_IO:
        return None
    except socket.error as err:
        if err.errno in WOULD_BLOCK:
            return None
        raise


def timeout_ms(due):
    """poll()'s timeout until the earliest of the monotonic times ``due``; None (forever) when none."""
    return None if not due else max(0, int(math.ceil((min(due) - monotonic()) * 1000)))


class PollLoop(object):
    """The loop; a subclass says what a ready socket means.

    Subclasses implement ``_timeout_ms()``, ``_on_wake()``, ``_on_ready(ready, now)`` (``ready``:
    fd -> poll events, the wake-up socket taken out), ``_serve(conn, *args)``, ``_close(conn)``
    and ``_on_stop()``. A connection has ``fd``, ``peer`` and ``events`` (what poll() watches).
    ``lost_errors`` raised by _serve() are a connection that went away (said at debug level as
    ``lost_text``); anything else is a defect (said as an error with ``defect_text``).
    """

    lost_errors = (socket.error,)
    lost_text = 'connection lost'
    defect_text = 'unexpected error serving'

    def __init__(self, log):
        self._log = log
        self._connections = OrderedDict()  # fd -> connection, oldest first; only the loop's thread
        self._stopping = False
        self._wake_pending = False
        self._wake_receiver, self._wake_sender = socket.socketpair()
        for end in (self._wake_receiver, self._wake_sender):
            end.setblocking(False)
        self._poller = select.poll()
        self._poller.register(self._wake_receiver.fileno(), select.POLLIN)

    def wake(self):
        """Wakes the loop's thread (from any thread): one byte, unless one is already waiting to be read."""
        if self._wake_pending:
            return
        self._wake_pending = True
        try:
            self._wake_sender.send(b'\0')
        except socket.error:  # full or closed: the thread is awake or gone anyway
            pass

    def stop(self):
        """Makes run() return (from any thread)."""
        self._stopping = True
        self._wake_pending = False
        self.wake()

    def run(self):
        try:
            while not self._stopping:
                ready = dict(poll(self._poller, self._timeout_ms()))
                if ready.pop(self._wake_receiver.fileno(), 0):
                    # Read the bytes, then allow new ones: in the other order a wake-up sent in
                    # between would be read while the flag stays set, and no wake-up would come again.
                    while recv_now(self._wake_receiver, 4096):
                        pass
                    self._wake_pending = False
                    self._on_wake()
                self._on_ready(ready, monotonic())
        finally:
            self._stopping = True
            self._on_stop()
            self._wake_receiver.close()
            self._wake_sender.close()

    def _register(self, conn):
        self._connections[conn.fd] = conn
        self._poller.register(conn.fd, conn.events)

    def _forget(self, conn):
        if self._connections.pop(conn.fd, None) is not None:
            self._poller.unregister(conn.fd)

    def _watch(self, conn, events):
        if events != conn.events:
            conn.events = events
            self._poller.modify(conn.fd, events)

    def _serve_safely(self, conn, *args):
        """_serve(), where any failure ends this connection only."""
        try:
            self._serve(conn, *args)
        except Exception:  # a defect must cost one connection, never the thread
            self._report_failure(conn)
            self._close(conn)

    def _report_failure(self, conn):
        """Says, in an ``except`` block, why serving ``conn`` failed: ``lost_errors`` (reset, bad
        handshake, ...) at debug level, anything else as an error with its traceback."""
        err = sys.exc_info()[1]
        if isinstance(err, self.lost_errors):
            self._log.debug('%s: %s: %s' % (conn.peer, self.lost_text, err))
        else:
            self._log.error('%s %s: %s' % (self.defect_text, conn.peer, traceback.format_exc()))
