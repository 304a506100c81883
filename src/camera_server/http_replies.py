"""The bytes of web_video_server's HTTP/1.0 replies: status line, headers, bodies, one-line errors.

Every reply goes through reply_head(), where no request byte can break a header line.
framing.py builds the stream heads and parts on top of it. No sockets here.
"""
import json
import re

from camera_server.compat import to_bytes

NO_CACHE = 'no-cache, no-store, must-revalidate, pre-check=0, post-check=0, max-age=0'
REVALIDATE = 'no-cache'  # a browser may keep the copy but asks each time whether it changed
SERVER_NAME = 'web_video_server'  # the Server header existing clients already see
REASONS = {
    200: 'OK', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized',
    404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout',
    413: 'Payload Too Large', 414: 'URI Too Long', 415: 'Unsupported Media Type',
    431: 'Request Header Fields Too Large', 500: 'Internal Server Error',
    501: 'Not Implemented', 503: 'Service Unavailable', 504: 'Gateway Timeout',
    505: 'HTTP Version Not Supported',
}
_CONTROL = re.compile(r'[\x00-\x1f\x7f]')


def one_line(text):
    """``text`` with every control character (CR, LF, NUL, ...) replaced by a space."""
    return _CONTROL.sub(' ', text)


def cors_headers(origin):
    """web_video_server's CORS headers for ``origin``; none when the origin is empty."""
    if not origin:
        return []
    return [('Access-Control-Allow-Origin', origin),
            ('Access-Control-Allow-Methods', 'GET,POST,PUT,DELETE,HEAD,OPTIONS'),
            ('Access-Control-Allow-Headers', 'Origin, Authorization, Accept, Content-Type'),
            ('Access-Control-Max-Age', '3600')]


def no_cache_headers(extra=()):
    """The headers web_video_server starts every reply with, then ``extra``."""
    return [('Connection', 'close'), ('Server', SERVER_NAME), ('Cache-Control', NO_CACHE),
            ('Pragma', 'no-cache')] + list(extra)


def header_block(headers):
    """Header lines; a value can never break its line (no request byte reaches a header unblanked)."""
    return ''.join('%s: %s\r\n' % (name, one_line(value)) for name, value in headers) + '\r\n'


def reply_head(status, headers):
    """Status line and header block of an HTTP/1.0 reply, as bytes."""
    text = 'HTTP/1.0 %d %s\r\n' % (status, REASONS.get(status, 'Unknown')) + header_block(headers)
    return text.encode('latin-1', 'replace')  # a header holds latin-1 only: anything else becomes '?'


def reply(status, content_type, body, cors_origin, extra_headers=()):
    """A complete reply with ``body`` (bytes), web_video_server's headers first.

    nosniff: a browser must never read a one-line reason or JSON holding a topic name as HTML.
    """
    headers = no_cache_headers([('Content-type', content_type), ('X-Content-Type-Options', 'nosniff')])
    headers += list(extra_headers) + cors_headers(cors_origin)
    headers.append(('Content-Length', str(len(body))))
    return reply_head(status, headers) + body


def asset_reply(body, content_type, etag, if_none_match, cors_origin):
    """A file of the pages (a script, the style sheet) with its ETag; 304 and no body when the
    request's If-None-Match names that ETag (the browser's copy is current)."""
    tags = [tag.strip() for tag in (if_none_match or '').split(',')]
    headers = [('Connection', 'close'), ('Server', SERVER_NAME), ('Cache-Control', REVALIDATE), ('ETag', etag)]
    if etag in tags or 'W/' + etag in tags or '*' in tags:
        return reply_head(304, headers + cors_headers(cors_origin))
    headers += [('Content-type', content_type), ('X-Content-Type-Options', 'nosniff')] + cors_headers(cors_origin)
    return reply_head(200, headers + [('Content-Length', str(len(body)))]) + body


def error_reply(status, reason, cors_origin, extra_headers=()):
    """A reply with ``status`` and ``reason`` as one line of plain text (control characters blanked)."""
    return reply(status, 'text/plain; charset=utf-8', to_bytes(one_line(reason) + '\n'), cors_origin,
                 extra_headers)


def busy_reply(waiting, limit, cors_origin):
    """The 503 for a connection refused because ``waiting`` others still send their request."""
    return error_reply(503, 'server busy: %d connections are still sending their request '
                            '(~max_pending_requests=%d)' % (waiting, limit), cors_origin)


def safe_json(value):
    """``value`` as JSON bytes in which no topic name can close a script or open a tag."""
    text = json.dumps(value, sort_keys=True)
    return text.replace('<', '\\u003c').replace('>', '\\u003e').replace('&', '\\u0026').encode('utf-8')


def format_stamp(stamp):
    """X-Timestamp value: seconds with six decimals, as web_video_server's printf("%.06lf")."""
    return '%.06f' % stamp


def snapshot_reply(payload, stamp, content_type, cors_origin):
    """The /snapshot reply: one image with its X-Timestamp."""
    return reply(200, content_type, payload, cors_origin, [('X-Timestamp', format_stamp(stamp))])
