"""http_replies: the exact bytes of one-shot replies (errors, snapshots, JSON), never a broken header line."""
import json

from camera_server import http_replies


def test_error_reply_is_one_line():
    data = http_replies.error_reply(404, 'topic /x\r\nInjected: yes', '*')
    head, _, body = data.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.0 404 Not Found\r\n') and body == b'topic /x  Injected: yes\n', data
    assert b'Content-Length: %d' % len(body) in head


def test_snapshot_reply_carries_stamp_and_length():
    data = http_replies.snapshot_reply(b'\xff\xd8abc', 12.5, 'image/jpeg', '*')
    assert b'X-Timestamp: 12.500000\r\n' in data and b'Content-Length: 5\r\n' in data
    assert data.endswith(b'\r\n\r\n\xff\xd8abc')


def test_header_values_and_reasons_never_break_their_line():
    data = http_replies.snapshot_reply(b'x', 1.0, 'image/jpeg\r\nSet-Cookie: a=1\x00', '*')
    head = data.partition(b'\r\n\r\n')[0]
    assert b'\r\nSet-Cookie' not in head and b'\x00' not in head, head
    body = http_replies.error_reply(404, 'topic /a\x00b\rc\nd\x1b', '').partition(b'\r\n\r\n')[2]
    assert body == b'topic /a b c d \n', body


def test_safe_json_escapes_markup_and_round_trips():
    value = {'topic': '</script><img src=x onerror=alert(1)>&"\''}
    data = http_replies.safe_json(value)
    assert not set(b'<>&') & set(bytearray(data)), data
    assert json.loads(data.decode('utf-8')) == value
