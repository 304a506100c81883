"""HTTP clients for the web server tests: plain requests and a multipart (MJPEG) stream reader.

Raw sockets, so the tests see the exact bytes the server sends. Every read has a timeout.
"""
import socket

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


def http_get(port, target, headers=(), timeout=5.0, method='GET'):
    """(status, headers with lower-case names, body) of one request to 127.0.0.1:port."""
    sock = socket.create_connection(('127.0.0.1', port), timeout)
    try:
        request = '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n' % (
            method, target, ''.join('%s: %s\r\n' % item for item in headers))
        sock.sendall(request.encode('latin-1'))
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

    def __init__(self, port, target, timeout=5.0, headers=(), receive_buffer=None, wrap=None):
        """``wrap(socket)`` returns the socket to talk through once connected (e.g. a TLS one)."""
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer:  # a small buffer makes a stalled client stall the server sooner
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(timeout)
        self.sock.connect(('127.0.0.1', port))
        if wrap is not None:
            self.sock = wrap(self.sock)
        request = 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n' % (
            target, ''.join('%s: %s\r\n' % item for item in headers))
        self.sock.sendall(request.encode('latin-1'))
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

    def close(self):
        try:
            self.reader.close()
        finally:
            self.sock.close()

