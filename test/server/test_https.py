"""HTTPS in the built-in server: a self-signed certificate made here, real TLS clients, streams over TLS."""
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest

from camera_server.params import ConfigError
from camera_server.tls import server_context
from support.ci import require
from support.fake_topics import frame_index
from support.stream_client import MjpegStream, http_get
from support.web_checks import decode

TOPIC = '/camera/image_raw'


@pytest.fixture(scope='module')
def certificate(tmp_path_factory):
    """(certfile, keyfile) of a self-signed certificate for localhost and 127.0.0.1."""
    require(shutil.which('openssl'), 'the openssl command is not installed (Debian package openssl)')
    folder = tmp_path_factory.mktemp('tls')
    cert, key = str(folder / 'cert.pem'), str(folder / 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
                    '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    return cert, key


def tls(cert):
    """The stream client's ``wrap``: TLS that verifies the server's certificate chain and host name."""
    return lambda sock: ssl.create_default_context(cafile=cert).wrap_socket(sock, server_hostname='localhost')


def tls_stream(port, target, cert, receive_buffer=None):
    return MjpegStream(port, target, receive_buffer=receive_buffer, wrap=tls(cert))


def https_get(port, target, cert, headers=()):
    """(status, headers, body) of one request over TLS (the server closes after the reply)."""
    return http_get(port, target, headers, wrap=tls(cert))


def test_streams_over_tls_carry_the_camera_bytes_at_the_plain_rate(harness, certificate):
    plain = harness()
    plain.camera(fps=30.0)
    h = harness(tls=server_context(*certificate))
    cam = h.camera(fps=30.0)
    secure = tls_stream(h.port, '/stream?topic=%s&type=ros_compressed' % TOPIC, certificate[0])
    plain_stream = MjpegStream(plain.port, '/stream?topic=%s&type=ros_compressed' % TOPIC)
    counts, payloads = {}, []
    try:
        assert secure.status == 200 and secure.sock.version() in ('TLSv1.2', 'TLSv1.3'), \
            secure.status_line
        reader = threading.Thread(target=lambda: counts.update(plain=len(plain_stream.read_for(3.0))))
        reader.start()
        payloads = secure.read_for(3.0)
        counts['tls'] = len(payloads)
        reader.join(10)
    finally:
        secure.close()
        plain_stream.close()
    wrong = [frame_index(float(part['x-timestamp'])) for part, payload in payloads
             if payload != cam.published.get(frame_index(float(part['x-timestamp'])))]
    assert not wrong, 'frames over TLS differing from the camera JPEG: %s' % wrong
    assert counts['tls'] >= 0.9 * counts['plain'], 'frames in 3 s: TLS %(tls)d, plain HTTP %(plain)d' % counts


def test_a_slow_tls_reader_keeps_whole_frames_and_others_keep_the_rate(harness, certificate):
    """Frames fill the stalled socket: the writer gets SSLWantWriteError and must offer the same bytes again."""
    h = harness(tls=server_context(*certificate), send_timeout=5.0)
    h.camera(fps=30.0, width=320, height=240, compressed=False, noise=True)
    fast = tls_stream(h.port, '/stream?topic=%s&quality=95' % TOPIC, certificate[0])
    slow = None
    try:
        fast.read_frame()
        alone = len(fast.read_for(2.0))  # the baseline: the same reader without the stalled neighbour
        slow = tls_stream(h.port, '/stream?topic=%s&quality=95' % TOPIC, certificate[0], receive_buffer=4096)
        time.sleep(1.5)  # the slow one reads nothing: its socket fills mid-frame
        beside = len(fast.read_for(2.0))
        frames = slow.read_for(1.0)  # now it reads: every part must be whole (read_frame checks the framing)
        for _, payload in frames[-3:]:
            assert decode(payload).shape == (240, 320, 3)
    finally:
        fast.close()
        if slow is not None:
            slow.close()
    assert beside >= 0.8 * alone - 2, \
        'TLS reader: %d frames in 2 s beside a stalled TLS viewer, %d alone' % (beside, alone)


def test_a_stalled_handshake_blocks_nobody_and_ends_at_request_timeout(harness, certificate):
    timeout = 2.0
    h = harness(tls=server_context(*certificate), request_timeout=timeout)
    h.camera(fps=30.0)
    stalled = [socket.create_connection(('127.0.0.1', h.port), 5) for _ in range(20)]
    connected = time.time()
    for sock in stalled[:10]:
        sock.sendall(b'\x16\x03\x01\x00\xc8\x01')  # the start of a ClientHello, never finished
    try:
        started = time.time()
        stream = tls_stream(h.port, '/stream?topic=' + TOPIC, certificate[0])
        try:
            stream.read_frame()
        finally:
            stream.close()
        served = time.time() - started
        # Queued behind the stalled handshakes, the viewer would wait for their request_timeout.
        assert served < timeout, 'a TLS viewer waited %.2f s beside 20 stalled handshakes; request_timeout %.1f s' % (
            served, timeout)
        ended = []
        for sock in stalled:
            sock.settimeout(3 * timeout)
            try:
                data = sock.recv(4096)
            except socket.error:
                data = b''
            ended.append((data, time.time() - connected))
        assert all(data == b'' for data, _ in ended), 'a stalled handshake got bytes: %r' % ended[:3]
        # request_timeout is the server's deadline for the whole head: not before it, within one more.
        closed = [round(t, 2) for _, t in ended]
        assert 0.9 * timeout < min(closed) and max(closed) < 2 * timeout, \
            'stalled handshakes closed %s s after they connected; request_timeout %.1f s' % (closed, timeout)
    finally:
        for sock in stalled:
            sock.close()


def test_plain_http_and_bad_certificates_on_the_tls_port_are_refused(harness, certificate):
    h = harness(tls=server_context(*certificate))
    h.camera(fps=30.0)
    sock = socket.create_connection(('127.0.0.1', h.port), 5)
    try:
        sock.sendall(b'GET /stream?topic=' + TOPIC.encode() + b' HTTP/1.1\r\n\r\n')
        data = sock.recv(65536)
    except socket.error:
        data = b''
    finally:
        sock.close()
    assert b'\xff\xd8' not in data and not data.startswith(b'HTTP/1.0 200'), data[:200]
    with pytest.raises(ssl.SSLError):  # a client that checks certificates refuses an unknown one
        raw = socket.create_connection(('127.0.0.1', h.port), 5)
        try:
            ssl.create_default_context().wrap_socket(raw, server_hostname='localhost')
        finally:
            raw.close()
    assert https_get(h.port, '/health', certificate[0])[0] == 200


def test_basic_auth_over_tls(harness, certificate):
    import base64
    h = harness(tls=server_context(*certificate), credentials=('viewer:s3cret',))
    h.camera(fps=30.0)
    assert https_get(h.port, '/snapshot?topic=' + TOPIC, certificate[0])[0] == 401
    good = [('Authorization', 'Basic ' + base64.b64encode(b'viewer:s3cret').decode())]
    status, headers, body = https_get(h.port, '/snapshot?topic=' + TOPIC, certificate[0], good)
    assert status == 200 and body[:2] == b'\xff\xd8', (status, headers)


def test_bad_certificate_parameters_name_themselves(tmp_path, certificate):
    cert, key = certificate
    other = tmp_path / 'other.pem'
    subprocess.run(['openssl', 'genrsa', '-out', str(other), '2048'], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=60)
    text = tmp_path / 'text.pem'
    text.write_text(u'not a certificate\n')
    combined = tmp_path / 'both.pem'
    combined.write_bytes(open(cert, 'rb').read() + open(key, 'rb').read())
    assert server_context('', '') is None
    assert server_context(str(combined), '') is not None
    for args, words in ((('/nonexistent/cert.pem', key), ['~certfile', '/nonexistent/cert.pem', 'cannot be read']),
                        ((cert, '/nonexistent/key.pem'), ['~keyfile', '/nonexistent/key.pem', 'cannot be read']),
                        ((str(text), key), ['~certfile', 'no PEM certificate']),
                        ((cert, str(text)), ['~keyfile', 'no PEM private key']),
                        ((cert, ''), ['~certfile', 'no PEM private key']),
                        ((cert, str(other)), ['~certfile', '~keyfile', 'matching key']),
                        (('', key), ['~keyfile', '~certfile'])):
        with pytest.raises(ConfigError) as error:
            server_context(*args)
        for word in words:
            assert word in str(error.value), (args, str(error.value))
    assert os.path.exists(cert)
