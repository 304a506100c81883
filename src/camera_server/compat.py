"""Every name that differs between Python 2.7 (ROS Melodic) and Python 3, and nothing else.

The rest of the package is written once for both: it imports what differs from here.
"""
import errno
import os
import select
import ssl
import sys
import time

try:  # Python 3
    from html import escape as html_escape
    from http.server import BaseHTTPRequestHandler
    from urllib.parse import parse_qsl, quote, urlsplit
    from urllib.request import url2pathname
    from xmlrpc.client import ServerProxy, Transport
except ImportError:  # Python 2.7
    from cgi import escape as html_escape  # noqa: F401
    from BaseHTTPServer import BaseHTTPRequestHandler  # noqa: F401
    from urlparse import parse_qsl, urlsplit  # noqa: F401
    from urllib import quote, url2pathname  # noqa: F401
    from xmlrpclib import ServerProxy, Transport  # noqa: F401

try:
    string_types = (str, unicode)  # noqa: F821 (Python 2.7)
except NameError:
    string_types = (str,)

monotonic = getattr(time, 'monotonic', time.time)  # Python 2.7 has no time.monotonic


def line_buffered_stdout():
    """Makes sys.stdout write each line when it ends. Python buffers 8 KB when stdout is a pipe
    (rosrun | tee, docker logs, systemd, a test reading the log), so lines came minutes late."""
    try:
        sys.stdout.reconfigure(line_buffering=True)  # Python 3.7+
    except AttributeError:  # Python 2.7: a line-buffered file on the same descriptor
        sys.stdout.flush()
        sys.stdout = os.fdopen(os.dup(sys.stdout.fileno()), 'w', 1)


def to_bytes(text):
    """``text`` as UTF-8 bytes; bytes (a Python 2.7 str) as they are."""
    return text if isinstance(text, bytes) else text.encode('utf-8')


def byte_at(data, index):
    """The value of byte ``index`` of ``data`` (on Python 2.7 indexing a str gives a str)."""
    return ord(data[index:index + 1])


def tls_server_context():
    """A server-side ssl.SSLContext without SSLv2/v3 (Python 2.7.9+ lacks the 3.6 protocol name)."""
    context = ssl.SSLContext(getattr(ssl, 'PROTOCOL_TLS_SERVER', ssl.PROTOCOL_SSLv23))
    context.options |= getattr(ssl, 'OP_NO_SSLv2', 0) | getattr(ssl, 'OP_NO_SSLv3', 0)
    return context


def poll(poller, timeout_ms):
    """``poller.poll(timeout_ms)``; [] when a signal interrupted it (Python 2.7 does not retry, PEP 475)."""
    try:
        return poller.poll(timeout_ms)
    except (select.error, OSError) as err:
        if err.args[0] != errno.EINTR:
            raise
        return []
