"""The few names that differ between Python 2.7 (ROS Melodic) and Python 3."""
try:  # Python 3
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from urllib.parse import parse_qsl, unquote, urlsplit, quote
    from urllib.request import url2pathname
    from xmlrpc.client import ServerProxy, Transport
except ImportError:  # Python 2.7
    from BaseHTTPServer import BaseHTTPRequestHandler, HTTPServer  # noqa: F401
    from urlparse import parse_qsl, urlsplit  # noqa: F401
    from urllib import unquote, quote, url2pathname  # noqa: F401
    from xmlrpclib import ServerProxy, Transport  # noqa: F401

try:
    string_types = (str, unicode)  # noqa: F821 (Python 2.7)
except NameError:
    string_types = (str,)
