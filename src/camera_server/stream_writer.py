"""One thread writes every multipart stream, with non-blocking sockets and poll().

A thread per streaming client cost the server 5x its one-viewer CPU with 16 viewers:
every frame woke 16 threads that then fought for the GIL. Here the thread that published
a frame (the camera's, or an encoder's) sends it at once to every idle socket, as far as
each takes it, and wakes the single writer thread only for what is left: bytes a full
socket did not take, a client that left. Waking a thread per frame cost a viewer as much
as the rest of its frame's work. A client that reads slowly finishes the part it is in
(the multipart stream stays intact) and then gets the newest frame only; one that stops
reading costs nothing until ``send_timeout`` drops it.
"""
import select
import socket
import threading
from collections import deque

from camera_server.compat import monotonic
from camera_server.poll_loop import WOULD_BLOCK, PollLoop, recv_now, timeout_ms
from camera_server.tls import WANT_IO

GONE = select.POLLHUP | select.POLLERR | select.POLLNVAL
CLOSE_WAIT_S = 5.0  # close() waits this long for the writer thread
# Kernel send buffer of a stream (Linux doubles it). Autotuned, it grows to 4 MB: seconds of
# stale video queued for a slow viewer, out of newest-wins' reach. 256 KB still holds a few
# 1280x720 frames, enough for a LAN or Wi-Fi viewer at 30 fps.
SEND_BUFFER_BYTES = 256 * 1024


class _Connection(object):
    """A handed-over socket, its client, its framer (framing.py: the bytes of each frame), and
    the frame being sent."""

    def __init__(self, sock, client, peer, framer):
        self.sock = sock
        self.fd = sock.fileno()
        self.client = client
        self.peer = peer
        self.framer = framer
        self.unsent = None  # memoryview of the rest of the current chunk, None when idle
        self.queued = []  # the chunks of the current frame after that one
        self.frame = None  # the frame last started, repeated by ~publish_rate
        self.started = 0.0  # when that frame was started
        self.progress = 0.0  # when the socket last took bytes
        self.events = select.POLLIN  # what poll() watches for this socket
        self.failed = False  # sending from a publishing thread failed: the writer thread ends it

    def peer_left(self, event):
        """True when the browser closed the connection or it failed; what it sent is discarded."""
        if event & GONE:
            return True
        try:
            return recv_now(self.sock, 65536) == b''  # None: nothing, or a TLS record that held no data
        except socket.error:
            return True

    def start(self, frame, now):
        self.frame, self.started, self.progress = frame, now, now
        chunks = self.framer.chunks(frame)
        self.unsent = memoryview(chunks[0])
        self.queued = list(chunks[1:])

    def send(self, now):
        """Sends what the socket takes now; counts the frame when all of it is out."""
        while self.unsent is not None:
            try:
                sent = self.sock.send(self.unsent)
            except WANT_IO:  # TLS: OpenSSL takes all or nothing; the same bytes are offered again
                return
            except socket.error as err:
                if err.errno in WOULD_BLOCK:
                    return
                raise
            self.progress = now
            self.unsent = self.unsent[sent:]
            if len(self.unsent):
                return  # the socket is full
            if self.queued:
                self.unsent = memoryview(self.queued.pop(0))
            else:
                self.unsent = None
                self.client.frames_sent += 1


class StreamWriter(PollLoop):
    """Serves the multipart streams of every client from the thread 'http stream writer'.

    ``detach(client)`` is called once a connection ends (the hub's detach); ``log`` is the
    server's logger. add() takes over sockets; send_now() is each client's wake-up.
    """

    defect_text = 'unexpected error streaming to'

    def __init__(self, detach, send_timeout, publish_rate, log):
        PollLoop.__init__(self, log)
        self._detach = detach
        self._send_timeout = send_timeout
        self._resend_period = 1.0 / publish_rate if publish_rate > 0 else None
        self._added = deque()  # connections handed over, adopted by the writer thread
        self._closing_lock = threading.Lock()  # a connection added while closing is ended, never forgotten
        # Held by whichever thread serves the connections: the writer thread after each poll(),
        # or a publishing thread in send_now(). Only the writer thread changes what poll() watches.
        self._serving = threading.Lock()
        self._thread = threading.Thread(target=self.run, name='http stream writer')
        self._thread.daemon = True
        self._thread.start()

    def add(self, sock, client, peer, framer):
        """Take over ``sock``, whose stream head ``framer`` made and is sent: from now on it gets
        ``client``'s frames, as ``framer`` frames them."""
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        conn = _Connection(sock, client, peer, framer)
        with self._closing_lock:
            adopted = not self._stopping
            if adopted:
                self._added.append(conn)
        if adopted:
            self.wake()
        else:
            self._close(conn)

    def send_now(self):
        """A client's wake-up, in the thread that published a frame: sends the new frames to the
        idle sockets from here, and wakes the writer thread when a socket did not take all its
        frame or a client is closed, when that thread is busy serving, or when ~publish_rate
        repeats frames (its timer starts from the frame sent)."""
        if not self._serving.acquire(False):
            self.wake()
            return
        try:
            left = self._resend_period is not None
            now = monotonic()
            for conn in list(self._connections.values()):
                if conn.unsent is None and not (conn.client.closed or conn.failed):
                    try:
                        self._send_from(conn, conn.client.take(), now)
                    except Exception:  # said here; the connection is ended by the writer thread
                        self._report_failure(conn)
                        conn.failed = True
                left = left or conn.unsent is not None or conn.client.closed or conn.failed
        finally:
            self._serving.release()
        if left:
            self.wake()

    def close(self):
        """Ends every connection and the writer thread (server stop)."""
        with self._closing_lock:
            self.stop()
        self._thread.join(CLOSE_WAIT_S)

    def _on_wake(self):
        with self._serving:
            while self._added:
                self._register(self._added.popleft())

    def _on_ready(self, ready, now):
        with self._serving:
            for conn in list(self._connections.values()):
                self._serve_safely(conn, ready.get(conn.fd, 0), now)

    def _on_stop(self):
        with self._closing_lock:  # an add() under way has put its connection in _added by now
            ended = list(self._connections.values()) + list(self._added)
        with self._serving:
            for conn in ended:
                self._close(conn)

    def _timeout_ms(self):
        """Until the next send_timeout or ~publish_rate repeat is due; None (forever) when none is."""
        with self._serving:
            due = [conn.progress + self._send_timeout for conn in self._connections.values()
                   if conn.unsent is not None]
            if self._resend_period:
                due += [conn.started + self._resend_period for conn in self._connections.values()
                        if conn.frame is not None and conn.unsent is None and conn.framer.repeatable]
        return timeout_ms(due)

    def _serve(self, conn, event, now):
        if conn.failed or conn.client.closed or (event & (select.POLLIN | GONE) and conn.peer_left(event)):
            self._close(conn)
            return
        if event & select.POLLOUT and conn.unsent is not None:
            conn.send(now)
        if conn.unsent is None:  # idle, or the part just completed: on to the newest frame
            frame = conn.client.take()
            if frame is None and self._resend_period and conn.framer.repeatable and conn.frame is not None \
                    and now - conn.started >= self._resend_period:
                frame = conn.frame  # ~publish_rate: repeat the last frame on a quiet topic
            self._send_from(conn, frame, now)
        if conn.unsent is not None and now - conn.progress >= self._send_timeout:
            self._log.info('%s: dropped, it stopped reading for %.0f s' % (conn.peer, self._send_timeout))
            self._close(conn)
            return
        # POLLOUT only while bytes wait: an idle socket is always writable.
        self._watch(conn, select.POLLIN | (select.POLLOUT if conn.unsent is not None else 0))

    @staticmethod
    def _send_from(conn, frame, now):
        """Starts ``frame`` (None: nothing to send) on the idle ``conn`` and sends what the socket takes.
        A video client queues every frame: send all the socket takes now, since no wake-up comes
        for a frame that was queued while its predecessor was being sent."""
        while frame is not None:
            conn.start(frame, now)
            conn.send(now)
            frame = conn.client.take() if conn.unsent is None else None

    def _close(self, conn):
        self._forget(conn)
        conn.sock.close()
        self._detach(conn.client)
