"""The tests' one HTTP client: plain requests, multipart (MJPEG/PNG) streams part by part, and
video streams (fMP4, WebM) kept whole by a reading thread.

Raw sockets, so the tests see the exact bytes the server sends. Every read has a timeout (a
video stream's is its own deadline: ``close`` ends the thread's wait). ``wrap(socket)`` returns
the socket to talk through once connected (a TLS one); ``host`` is for another network namespace.
"""
import socket
import threading
import time

from support.waits import poll

BOUNDARY_LINE = b'--boundarydonotcross\r\n'


def _read_headers(reader):
    """Header lines up to the blank line, as a dict with lower-case names; EOFError if the stream ends."""
    headers = {}
    while True:
        line = reader.readline()
        if line == b'':
            raise EOFError('connection closed by the server inside a header block')
        if line == b'\r\n':
            return headers
        name, _, value = line.decode('latin-1').partition(':')
        headers[name.strip().lower()] = value.strip()


def _read_head(reader):
    status_line = reader.readline()
    return status_line, (_read_headers(reader) if status_line else {})


def _connect(port, target, timeout, headers=(), method='GET', wrap=None, host='127.0.0.1', receive_buffer=None,
             body=b''):
    """A socket that has sent its request (with ``body``)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer:  # a small buffer makes a stalled client stall the server sooner
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.settimeout(timeout)
    sock.connect((host, port))
    if wrap is not None:
        sock = wrap(sock)
    request = '%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n' % (
        method, target, host, ''.join('%s: %s\r\n' % item for item in headers))
    sock.sendall(request.encode('latin-1') + body)
    return sock


def http_get(port, target, headers=(), timeout=5.0, method='GET', wrap=None, host='127.0.0.1', body=b''):
    """(status, headers with lower-case names, body) of one request (with ``body``)."""
    sock = _connect(port, target, timeout, headers, method, wrap, host, body=body)
    try:
        reader = sock.makefile('rb')
        status_line, head = _read_head(reader)
        assert status_line, 'no reply to %s %s' % (method, target)
        length = head.get('content-length')
        body = reader.read(int(length)) if length is not None else reader.read()
        return int(status_line.split()[1]), head, body
    finally:
        sock.close()


class MjpegStream(object):
    """A /stream client: the reply head, then read_frame() part by part."""

    def __init__(self, port, target, timeout=5.0, headers=(), receive_buffer=None, wrap=None, host='127.0.0.1'):
        self.sock = _connect(port, target, timeout, headers, wrap=wrap, host=host, receive_buffer=receive_buffer)
        self.reader = self.sock.makefile('rb')
        self.status_line, self.headers = _read_head(self.reader)
        self.status = int(self.status_line.split()[1]) if self.status_line else None
        self.first_boundary = self.reader.readline() if self.status == 200 else None
        self.body = None if self.status == 200 else self.reader.read()

    def read_frame(self):
        """(part headers with lower-case names, payload bytes); checks the framing around the part."""
        headers = _read_headers(self.reader)
        payload = self.reader.read(int(headers['content-length']))
        end = self.reader.readline()
        boundary = self.reader.readline()
        assert end == b'\r\n' and boundary == BOUNDARY_LINE, 'bad part framing: %r %r' % (end, boundary)
        return headers, payload

    def read_for(self, seconds):
        """Every (part headers, payload) that comes in ``seconds``."""
        parts = []
        deadline = time.time() + seconds
        while time.time() < deadline:
            parts.append(self.read_frame())
        return parts

    def close(self):
        try:
            self.reader.close()
        finally:
            self.sock.close()


class VideoStream(object):
    """Reads a video stream (or any reply) in a thread, keeping every byte; counts frames as they arrive."""

    MARKERS = {'h264': b'moof', 'vp8': b'\x1f\x43\xb6\x75', 'vp9': b'\x1f\x43\xb6\x75'}

    def __init__(self, port, target):
        # No timeout: ffmpeg may take seconds to start on a loaded machine; close() ends the wait.
        self._sock = _connect(port, target, 5.0)
        self._sock.settimeout(None)
        self._data = b''
        self._lock = threading.Lock()
        self.first_frame_at = None
        self.ended = False
        self._thread = threading.Thread(target=self._run, name='video reader')
        self._thread.daemon = True
        self._thread.start()

    def _run(self):
        while True:
            try:
                chunk = self._sock.recv(65536)
            except (socket.error, OSError):
                chunk = b''
            if not chunk:
                self.ended = True
                return
            with self._lock:
                self._data += chunk
                if self.first_frame_at is None and any(m in self._data for m in set(self.MARKERS.values())):
                    self.first_frame_at = time.time()

    def head(self):
        """(status, headers with lower-case names) of the reply, once its head has come."""
        with self._lock:
            head = self._data.partition(b'\r\n\r\n')[0]
        lines = head.decode('latin-1').split('\r\n')
        headers = dict((k.strip().lower(), v.strip()) for k, _, v in (line.partition(':') for line in lines[1:]))
        return int(lines[0].split()[1]), headers

    def body(self):
        with self._lock:
            return self._data.partition(b'\r\n\r\n')[2]

    def frames(self, kind):
        """Frames received so far (the last may be incomplete)."""
        return self.body().count(self.MARKERS[kind])

    def close(self):
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except (socket.error, OSError):
            pass
        self._sock.close()
        self._thread.join(5)


def capture(port, target, seconds, until=None):
    """(status, headers, body) of ``target`` read for ``seconds``, until the reply ends, or until
    ``until(body)`` is true."""
    stream = VideoStream(port, target)
    try:
        poll(lambda: stream.ended or (until is not None and until(stream.body())), seconds)
    finally:
        stream.close()
    return stream.head() + (stream.body(),)
