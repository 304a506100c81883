"""Abuse of the built-in server over real sockets: authentication, path tricks, header injection, XSS.

The server runs on port 0 with fake topics and a camera publishing, so that any request that
wrongly got through would get image bytes back; every refused request is checked for that.
"""
import base64
import json
import socket
import time

import pytest

from camera_server.compat import quote
from camera_server.messages import CAMERA_INFO_TYPE
from support.stream_client import MjpegStream, http_get

try:
    from html.parser import HTMLParser
except ImportError:  # pragma: no cover (the tests run on Python 3)
    from HTMLParser import HTMLParser

USER = b'viewer:s3cret'
GOOD = 'Basic ' + base64.b64encode(USER).decode('ascii')
TOPIC = '/camera/image_raw'


@pytest.fixture
def guarded(harness):
    h = harness(credentials=(USER.decode('ascii'),))
    h.camera(fps=30.0)
    return h


def exchange(port, data, timeout=5.0):
    """What the server sends back for the raw request bytes ``data``: until it closes, or for
    ``timeout`` seconds of a stream that stays open."""
    sock = socket.create_connection(('127.0.0.1', port), timeout)
    deadline = time.time() + timeout
    try:
        sock.sendall(data)
        chunks = []
        while time.time() < deadline:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b''.join(chunks)
    finally:
        sock.close()


def split_reply(data):
    """(status, [(name, value)] header lines, body) of one raw reply; asserts it is well-formed."""
    head, sep, body = data.partition(b'\r\n\r\n')
    assert sep, 'no complete reply head: %r' % data[:300]
    lines = head.split(b'\r\n')
    words = lines[0].split(b' ', 2)
    assert len(words) == 3 and words[0] in (b'HTTP/1.0', b'HTTP/1.1') and words[1].isdigit(), lines[0]
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b':')
        assert sep and name and name.strip() == name and b'\n' not in line and b'\0' not in line, \
            'malformed header line %r in %r' % (line, head)
        headers.append((name.decode('latin-1').lower(), value.strip().decode('latin-1')))
    return int(words[1]), headers, body


def assert_no_image(data, what):
    assert b'\xff\xd8' not in data and b'boundarydonotcross' not in data.partition(b'\r\n\r\n')[2], \
        '%s: image bytes came back (%d bytes): %r' % (what, len(data), data[:200])


def request(method, target, headers=()):
    lines = ['%s %s HTTP/1.1' % (method, target), 'Host: 127.0.0.1'] + ['%s: %s' % h for h in headers]
    return ('\r\n'.join(lines) + '\r\n\r\n').encode('utf-8')


@pytest.mark.parametrize('value', [
    None,
    'Basic ' + base64.b64encode(b'viewer:wrong').decode(),
    GOOD[:-2],  # bad base64 (padding cut)
    GOOD[:12] + '!' + GOOD[12:],  # a stray character a lenient decoder drops: would be the password
    'Basic %%%%',
    'Basic ' + base64.b64encode(b'viewers3cret').decode(),  # no colon
    'Basic ' + base64.b64encode(b':s3cret').decode(),  # empty user
    'Basic ' + base64.b64encode(u'vi\u00e9wer:s3cret'.encode('utf-8')).decode(),  # unicode user
    u'Basic \u00e9\u2603',  # unicode in the header itself (sent as UTF-8)
    'Basic ' + 'A' * 10240,  # 10 KB of header
    'Basic ' + base64.b64encode(USER + b'x' * 7000).decode(),
    GOOD.replace('Basic', 'Bearer'),
    GOOD.replace(' ', ''),
])
def test_wrong_or_malformed_credentials_never_pass(guarded, value):
    headers = [('Authorization', value)] if value is not None else []
    for target in ('/stream?topic=' + TOPIC, '/snapshot?topic=' + TOPIC, '/', '/stream_viewer?topic=' + TOPIC):
        data = exchange(guarded.port, request('GET', target, headers))
        status, head, body = split_reply(data)
        assert status == 401 and ('www-authenticate', 'Basic realm="camera_server"') in head, (target, data[:300])
        assert_no_image(data, target)
    assert not guarded.topics.subscriptions(TOPIC) and not guarded.topics.subscriptions(TOPIC + '/compressed')


def test_good_credentials_pass_and_health_needs_none(guarded):
    stream = MjpegStream(guarded.port, '/stream?topic=' + TOPIC, headers=[('Authorization', GOOD)])
    try:
        assert stream.status == 200 and stream.read_frame()[1][:2] == b'\xff\xd8', stream.status_line
    finally:
        stream.close()
    absolute = MjpegStream(guarded.port, 'http://127.0.0.1/stream?topic=' + TOPIC, headers=[('Authorization', GOOD)])
    try:
        assert absolute.status == 200 and absolute.read_frame()[1][:2] == b'\xff\xd8', absolute.status_line
    finally:
        absolute.close()
    for target in ('/', '/snapshot?topic=' + TOPIC, '/stream_viewer?topic=' + TOPIC):
        assert http_get(guarded.port, target, [('Authorization', GOOD)])[0] == 200, target
    assert http_get(guarded.port, '/health')[0] == 200


PATH_TRICKS = [
    '/stream?topic=' + TOPIC, '//stream?topic=' + TOPIC, '/stream/?topic=' + TOPIC,
    '/%2Fstream?topic=' + TOPIC, '%2Fstream?topic=' + TOPIC, 'http://127.0.0.1/stream?topic=' + TOPIC,
    'http://127.0.0.1//stream?topic=' + TOPIC, '/health/../stream?topic=' + TOPIC,
    '/health/%2E%2E/stream?topic=' + TOPIC, '/./stream?topic=' + TOPIC, '/STREAM?topic=' + TOPIC,
    '/health/', '/health;/stream?topic=' + TOPIC, '/health%3F/stream?topic=' + TOPIC,
    '/stream%00?topic=' + TOPIC, '/snapshot?topic=' + TOPIC, '//snapshot?topic=' + TOPIC,
    '/stream_viewer?topic=' + TOPIC, '/', '//', '*',
]


@pytest.mark.parametrize('method', ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'])
def test_no_path_trick_passes_without_credentials(guarded, method):
    for target in PATH_TRICKS:
        data = exchange(guarded.port, request(method, target))
        status, _, _ = split_reply(data)
        assert status in (400, 401, 404), '%s %s answered %d: %r' % (method, target, status, data[:300])
        assert_no_image(data, '%s %s' % (method, target))
    assert not guarded.topics.subscriptions(), 'a refused request subscribed'



@pytest.mark.parametrize('target', ['/health?x=/stream', '/health?topic=' + TOPIC + '&type=mjpeg',
                                    'http://127.0.0.1/health?x=/stream'])
def test_health_with_a_query_is_still_only_health(guarded, target):
    data = exchange(guarded.port, request('GET', target))
    status, head, body = split_reply(data)
    assert status == 200 and ('content-type', 'application/json') in head, data[:300]
    assert json.loads(body.decode('utf-8'))['status'] == 'ok'
    assert_no_image(data, target)
    assert not guarded.topics.subscriptions(), 'a /health request subscribed'


@pytest.mark.parametrize('target', ['/stream?topic=' + TOPIC, '/snapshot?topic=' + TOPIC, '/', '/nowhere'])
def test_cors_preflight_stays_open_but_serves_nothing(guarded, target):
    data = exchange(guarded.port, request('OPTIONS', target, [('Origin', 'http://elsewhere'),
                                                                ('Access-Control-Request-Method', 'GET')]))
    status, head, body = split_reply(data)
    names = set(name for name, _ in head)
    assert status == 204 and body == b'' and ('content-length', '0') in head, data[:400]
    assert 'x-timestamp' not in names and 'www-authenticate' not in names, head
    assert not guarded.topics.subscriptions(), 'a preflight subscribed'


EVIL_TOPICS = ['/x\r\nSet-Cookie: evil=1/image_raw', '/nul\0byte/image_raw', '/lf\nX-Injected: 1/image_raw',
               '/cr\rX-Injected: 1/image_raw']


@pytest.mark.parametrize('topic', EVIL_TOPICS)
def test_control_characters_in_a_topic_never_reach_a_header(harness, topic):
    h = harness()
    h.camera(topic=topic, fps=30.0)
    quoted = quote(topic, safe='')
    for target in ('/stream?topic=' + quoted, '/snapshot?topic=' + quoted, '/stream?topic=' + quoted + '&width=64',
                   '/stream?topic=' + quoted + '/nope', '/stream_viewer?topic=' + quoted,
                   '/stream?topic=' + quoted + '&width=1%0d%0aX-Injected:%201',
                   '/stream?topic=' + quoted + '&type=x%0d%0aX-Injected:%201',
                   '/stream?topic=' + quoted + '&quality=%00%0a'):
        data = exchange(h.port, request('GET', target), timeout=1.0)
        status, head, body = split_reply(data)
        names = [name for name, _ in head]
        assert 'set-cookie' not in names and 'x-injected' not in names, (target, head)
        if status != 200:
            assert body.count(b'\n') == 1 and body.endswith(b'\n') and b'\r' not in body and b'\0' not in body, \
                (target, body)
        elif b'boundarydonotcross' in body:  # the stream's part headers too
            part_head = body.split(b'--boundarydonotcross\r\n')[1].partition(b'\r\n\r\n')[0]
            assert [line.split(b':')[0] for line in part_head.split(b'\r\n')] == \
                [b'Content-type', b'X-Timestamp', b'Content-Length'], part_head


def test_control_characters_in_the_request_line_get_a_one_line_reason(harness):
    h = harness()
    for raw in (b'GET /stream?topic=/a\0b HTTP/1.1\r\n\r\n', b'GET /nowhere\0\x1b[31m HTTP/1.1\r\n\r\n',
                b'G\0T / HTTP/1.1\r\n\r\n', b'GET / HTTP/1.1\0\r\n\r\n', b'GET /\rX: 1 HTTP/1.1\r\n\r\n'):
        status, head, body = split_reply(exchange(h.port, raw))
        assert status in (400, 404, 501) and body.count(b'\n') == 1 and b'\0' not in body and b'\r' not in body, \
            (raw, status, body)


class Structure(HTMLParser):
    """The tags and attribute names of a page, in order, and its text."""

    def __init__(self, page):
        HTMLParser.__init__(self)
        self.tags, self.text = [], []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, tuple(sorted(name for name, _ in attrs))))

    def handle_endtag(self, tag):
        self.tags.append(('/' + tag, ()))

    def handle_data(self, data):
        self.text.append(data)


XSS = '/cam</script><script>alert(1)</script><img src=x onerror=alert(2)>"\'&amp;/image_raw'
PLAIN = '/cam' + 'a' * (len(XSS) - len('/cam/image_raw')) + '/image_raw'


def pages(harness, topic):
    h = harness()
    h.camera(topic=topic, fps=30.0)
    h.topics.types[topic.rsplit('/', 1)[0] + '/camera_info'] = CAMERA_INFO_TYPE
    listed = http_get(h.port, '/')
    viewer = http_get(h.port, '/stream_viewer?topic=' + quote(topic, safe=''))
    stream = MjpegStream(h.port, '/stream?topic=' + quote(topic, safe=''))
    try:
        stream.read_frame()
        health = http_get(h.port, '/health')
    finally:
        stream.close()
    return listed, viewer, health


def test_topic_names_are_escaped_in_every_page_and_in_json(harness):
    """A hostile topic name leaves each page with the same tags and attributes as a plain one."""
    evil, plain = pages(harness, XSS), pages(harness, PLAIN)
    for (status, headers, body), (_, _, plain_body), name in zip(evil[:2], plain[:2], ('/', '/stream_viewer')):
        page = body.decode('utf-8')
        assert status == 200 and headers['content-type'].startswith('text/html'), (name, status)
        structure = Structure(page)
        assert structure.tags == Structure(plain_body.decode('utf-8')).tags, \
            '%s: the topic name changed the page structure: %s' % (name, structure.tags)
        assert not any(name.startswith('on') for _, names in structure.tags for name in names), structure.tags
        assert 'onerror=alert(2)' in ''.join(structure.text) or 'onerror=alert(2)' in page.replace('&#x27;', "'"), \
            '%s: the topic name is not shown' % name
    status, headers, body = evil[2]
    assert status == 200 and headers['content-type'] == 'application/json', (status, headers)
    assert headers.get('x-content-type-options') == 'nosniff', headers
    assert not set(b'<>&') & set(bytearray(body)), body[:300]
    topics = [topic['topic'] for topic in json.loads(body.decode('utf-8'))['topics']]
    assert XSS in topics or XSS + '/compressed' in topics, topics
