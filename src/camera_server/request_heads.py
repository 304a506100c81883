"""Accepts connections and reads their request heads in one thread, with non-blocking sockets and poll().

A thread per connection reading with a socket timeout let a slowloris client (one byte
every 5 s) hold a thread and a file descriptor forever: the timeout is per recv. Here a
connection costs a thread only once its whole head has arrived. Until then it has:
- a deadline for the whole head (``head_timeout``): one that has not sent it by then is
  closed, with a 408 when it sent something;
- a place among at most ``max_pending`` connections still sending their head: a new
  connection beyond that refuses the oldest one with a 503, which bounds file descriptors
  and lets a new viewer in however many trickling connections an attacker keeps open;
- at most MAX_HEAD_BYTES of head, else a 414 or 431.
A TLS connection does its handshake here too, non-blocking, under the same deadline, so a
stalled handshake never blocks accepting. ``accept()`` failing for lack of file
descriptors pauses accepting briefly, logged once until it works again.
"""
import errno
import re
import select
import socket
import ssl

from camera_server.compat import monotonic
from camera_server.http_replies import busy_reply, error_reply
from camera_server.poll_loop import WOULD_BLOCK, PollLoop, recv_now, timeout_ms

MAX_HEAD_BYTES = 65536  # request line and headers together
ACCEPTS_PER_ROUND = 64  # accept() calls before pending heads get their turn again
LINGER_S = 1.0  # after an error reply, unread request bytes are drained this long: closing on them would reset the reply away
ACCEPT_PAUSE_S = 0.1  # how long accepting pauses when the process is out of file descriptors
FD_RECOVERY_S = 2.0  # a shortage is over (and said so, once) after this long without one
_HEAD_END = re.compile(b'\r?\n\r?\n')
_LEADING_BLANK_LINES = re.compile(b'^(?:\r?\n)+')  # RFC 7230 3.5: ignored before a request line


def listen(address, backlog):
    """A TCP socket listening on ``address`` (host, port); the port can be taken again at once after a restart."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except Exception:
        sock.close()
        raise
    return sock


def close_connection(sock):
    """Ends a served connection: what was sent is delivered before the close."""
    try:
        sock.shutdown(socket.SHUT_WR)
    except socket.error:  # the client is gone already
        pass
    sock.close()


class _Pending(object):
    """A connection whose head is not complete yet."""

    def __init__(self, sock, address, deadline, handshaking):
        self.sock = sock
        self.fd = sock.fileno()
        self.address = address
        self.peer = address[0]
        self.deadline = deadline
        self.handshaking = handshaking
        self.answered = False  # an error reply went out: what still comes is drained, then closed
        self.data = b''
        self.events = select.POLLIN


class HeadReader(PollLoop):
    """Serves ``listener`` until stop(), in run(): each complete head goes to ``on_head(sock, address, head)``.

    ``on_head`` runs in this thread and must not block (it starts a handler thread); the
    socket it gets is blocking again, with no timeout set. ``tls_context`` (an
    ssl.SSLContext or None) makes every connection HTTPS. ``log`` is the server's logger.
    """

    lost_errors = (socket.error, ssl.SSLError, ValueError)
    lost_text = 'connection lost before its request'
    defect_text = 'unexpected error reading a request from'

    def __init__(self, listener, on_head, head_timeout, max_pending, tls_context, log, cors_origin=''):
        PollLoop.__init__(self, log)
        self._listener = listener
        self._on_head = on_head
        self._head_timeout = head_timeout
        self._max_pending = max_pending
        self._tls = tls_context
        self._cors_origin = cors_origin
        self._pending = self._connections  # connections still sending their head, oldest first
        self._accept_paused_until = None
        self._refused_accepts = 0  # accept() failures of the current descriptor shortage
        self._last_refusal = 0.0
        listener.setblocking(False)
        self._poller.register(listener.fileno(), select.POLLIN)

    def _on_wake(self):
        pass

    def _on_ready(self, ready, now):
        for fd, event in ready.items():
            if fd == self._listener.fileno():
                self._accept()
            elif fd in self._pending:
                self._serve_safely(self._pending[fd], event)
        self._expire(monotonic())
        self._resume_accepting(monotonic())

    def _on_stop(self):
        for conn in list(self._pending.values()):
            self._close(conn)

    def _timeout_ms(self):
        due = [conn.deadline for conn in self._pending.values()]
        if self._accept_paused_until is not None:
            due.append(self._accept_paused_until)
        if self._refused_accepts:
            due.append(self._last_refusal + FD_RECOVERY_S)
        return timeout_ms(due)

    def _accept(self):
        for _ in range(ACCEPTS_PER_ROUND):
            try:
                sock, address = self._listener.accept()
            except socket.error as err:
                if err.errno not in WOULD_BLOCK + (errno.ECONNABORTED, errno.EPROTO, errno.EINTR):
                    self._out_of_fds(err)  # EMFILE and the like; any other failure is handled the same way
                return
            self._adopt(sock, address)

    def _out_of_fds(self, err):
        """accept() failed (EMFILE: no descriptor left): refuse the oldest pending connection, pause accepting."""
        if self._refused_accepts == 0:
            self._log.warning('cannot accept connections: %s (%d still sending their request); refusing '
                              'the oldest and pausing %.1f s until descriptors are free'
                              % (err, len(self._pending), ACCEPT_PAUSE_S))
        self._refused_accepts += 1
        self._last_refusal = monotonic()
        if self._pending:
            self._refuse(next(iter(self._pending.values())))
        self._accept_paused_until = monotonic() + ACCEPT_PAUSE_S
        self._poller.modify(self._listener.fileno(), 0)

    def _resume_accepting(self, now):
        if self._accept_paused_until is not None and now >= self._accept_paused_until:
            self._accept_paused_until = None
            self._poller.modify(self._listener.fileno(), select.POLLIN)
        if self._refused_accepts and now - self._last_refusal >= FD_RECOVERY_S:
            self._log.info('accepting connections again (%d accept attempts had failed for lack of file '
                           'descriptors)' % self._refused_accepts)
            self._refused_accepts = 0

    def _adopt(self, sock, address):
        try:
            sock.setblocking(False)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        except (socket.error, ssl.SSLError, ValueError) as err:
            self._log.debug('%s: connection failed at once: %s' % (address[0], err))
            sock.close()
            return
        while len(self._pending) >= self._max_pending > 0:
            self._refuse(next(iter(self._pending.values())))
        conn = _Pending(sock, address, monotonic() + self._head_timeout, self._tls is not None)
        self._register(conn)
        self._serve_safely(conn, select.POLLIN)  # the first bytes may be there already

    def _serve(self, conn, event):
        if conn.answered:
            return self._drain(conn)
        if conn.handshaking:
            try:
                conn.sock.do_handshake()
            except ssl.SSLWantReadError:
                return self._watch(conn, select.POLLIN)
            except ssl.SSLWantWriteError:
                return self._watch(conn, select.POLLOUT)
            conn.handshaking = False
            self._watch(conn, select.POLLIN)
        while True:  # until the socket (or TLS layer) has nothing more
            chunk = recv_now(conn.sock, MAX_HEAD_BYTES + 1 - len(conn.data))
            if chunk is None:
                return
            if not chunk:
                return self._close(conn)
            conn.data = _LEADING_BLANK_LINES.sub(b'', conn.data + chunk)
            end = _HEAD_END.search(conn.data)
            if end is not None:
                return self._complete(conn, end.end())
            if len(conn.data) > MAX_HEAD_BYTES:
                if b'\n' in conn.data:
                    return self._answer(conn, 431, 'request head longer than %d bytes' % MAX_HEAD_BYTES)
                return self._answer(conn, 414, 'request line longer than %d bytes' % MAX_HEAD_BYTES)

    def _drain(self, conn):
        while True:
            chunk = recv_now(conn.sock, 65536)
            if chunk is None:
                return
            if not chunk:
                return self._close(conn)

    def _complete(self, conn, head_length):
        self._forget(conn)
        conn.sock.setblocking(True)
        self._on_head(conn.sock, conn.address, conn.data[:head_length])

    def _expire(self, now):
        for conn in [c for c in self._pending.values() if c.deadline <= now]:
            if conn.data and not conn.answered:
                self._answer(conn, 408, 'the request head did not arrive within %.1f s (~request_timeout)'
                             % self._head_timeout)
            else:  # said nothing at all: nothing to answer
                self._close(conn)

    def _refuse(self, conn):
        """Makes room at once: a 503 as far as the socket takes it, then close without lingering."""
        if not (conn.handshaking or conn.answered):
            try:
                conn.sock.send(busy_reply(len(self._pending), self._max_pending, self._cors_origin))
            except (socket.error, ssl.SSLError, ValueError):
                pass
        self._close(conn)

    def _answer(self, conn, status, reason):
        """A one-line error reply, as far as the socket takes it at once; then a lingering close."""
        if conn.handshaking or conn.answered:
            return self._close(conn)
        try:
            conn.sock.send(error_reply(status, reason, self._cors_origin))
            conn.sock.shutdown(socket.SHUT_WR)
        except (socket.error, ssl.SSLError, ValueError):
            return self._close(conn)
        conn.answered = True
        conn.deadline = monotonic() + LINGER_S
        self._watch(conn, select.POLLIN)

    def _close(self, conn):
        self._forget(conn)
        conn.sock.close()
