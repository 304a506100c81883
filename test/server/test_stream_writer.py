"""The stream writer on its own: real TCP connections on 127.0.0.1, frames published by hand."""
import os
import socket
import sys
import threading
import time

import pytest

from camera_server.fanout import StreamHub
from camera_server.framing import MultipartFramer
from camera_server.messages import COMPRESSED_TYPE, CompressedMessage
from camera_server.url_api import OutputSpec
from camera_server.stream_writer import StreamWriter
from support import made_and_closed
from support.fake_topics import FakeTopics
from support.waits import wait_until

TOPIC = '/cam/image_raw/compressed'
AS_IS = OutputSpec('as_is', -1, -1, None, False)


def jpeg_like(index, size):
    """A forwardable 'JPEG' of ``size`` incompressible bytes (the writer never decodes it)."""
    return CompressedMessage(1000.0 + index, 'jpeg', b'\xff\xd8' + os.urandom(size - 2))


class RecordingLog(object):
    def __init__(self):
        self.lines = []

    def __getattr__(self, level):
        return lambda text: self.lines.append((level, text))


class Rig(object):
    """A hub on fake topics, a StreamWriter, and viewers connected to it over TCP."""

    def __init__(self, send_timeout=10.0, publish_rate=-1.0):
        self.topics = FakeTopics({TOPIC: COMPRESSED_TYPE})
        self.hub = StreamHub(self.topics.subscribe)
        self.log = RecordingLog()
        self.writer = StreamWriter(self.hub.detach, send_timeout, publish_rate, self.log)
        self.viewers = []
        self.drains = []

    def viewer(self, buffer_size=None, wake=None):
        """(viewer socket, its hub client) of a new connection handed to the writer.

        ``buffer_size`` fixes both ends' socket buffers: a viewer that does not read stalls the writer sooner.
        """
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(('127.0.0.1', 0))
        listener.listen(1)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if buffer_size:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer_size)
        sock.settimeout(5.0)
        sock.connect(listener.getsockname())
        served, _ = listener.accept()
        listener.close()
        client = self.hub.attach(TOPIC, COMPRESSED_TYPE, AS_IS, wake=wake or self.writer.send_now)
        self.writer.add(served, client, '127.0.0.1', MultipartFramer())
        if buffer_size:  # after add(), which sets its own; no frame is published before this returns
            served.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffer_size)
        self.viewers.append(sock)
        return sock, client

    def drain(self, viewers):
        """Read ``viewers`` (from viewer()) in threads until the writer closes them."""
        def read(sock):
            while sock.recv(1 << 20):
                pass
        for sock, _ in viewers:
            self.drains.append(threading.Thread(target=read, args=(sock,), name='test drain'))
            self.drains[-1].start()

    def close(self):
        self.writer.close()
        for thread in self.drains:
            thread.join(5.0)
        self.hub.close()
        for sock in self.viewers:
            sock.close()


@pytest.fixture
def rig():
    with made_and_closed(Rig) as make:
        yield make


def receive(sock, size):
    """Exactly ``size`` bytes from ``sock`` (fewer only if it closes)."""
    chunks, got = [], 0
    while got < size:
        chunk = sock.recv(min(size - got, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b''.join(chunks)


def test_half_sent_part_is_finished_then_only_the_newest_frame_follows(rig):
    r = rig()
    sock, client = r.viewer(buffer_size=65536)
    r.topics.publish(TOPIC, jpeg_like(1, 1000000))  # far more than the socket buffers hold
    first = client.output.latest.part
    sock.recv(1, socket.MSG_PEEK)  # the writer has started it
    for index in range(2, 6):
        r.topics.publish(TOPIC, jpeg_like(index, 1000))
    last = client.output.latest.part
    time.sleep(0.2)
    assert client.frames_sent == 0, 'the first part cannot be complete yet'
    received = receive(sock, len(first) + len(last))
    assert received[:len(first)] == first, 'the half-sent part was not finished intact'
    assert received[len(first):] == last, 'the part after it is not the newest frame'
    wait_until(lambda: client.frames_sent == 2, 2, 'both parts counted as sent')
    assert client.frames_dropped == 3, client.frames_dropped


def test_a_viewer_that_stops_reading_has_little_stale_video_queued(rig):
    """Without a fixed send buffer the kernel would queue up to 4 MB of old frames for it."""
    r = rig()
    sock, client = r.viewer()
    frame_bytes, count = 20000, 150  # 3 MB in all
    for index in range(count):
        r.topics.publish(TOPIC, jpeg_like(index, frame_bytes))
        time.sleep(0.002)  # the writer sends each while the buffers take it
    newest = b'X-Timestamp: %.6f' % (1000.0 + count)
    r.topics.publish(TOPIC, jpeg_like(count, frame_bytes))
    time.sleep(0.2)
    received = b''
    while newest not in received:
        chunk = sock.recv(1 << 16)
        assert chunk, 'the connection closed before the newest frame'
        received += chunk
    queued = received.index(newest)
    assert queued < 1000000, '%d bytes of older frames came before the newest one' % queued
    assert client.frames_dropped > count / 2, client.frames_dropped


def writer_threads():
    return [t for t in threading.enumerate() if t.name == 'http stream writer']


def test_the_publishing_thread_serves_many_idle_viewers_without_waking_the_writer(rig):
    """Issue 18: waking the writer thread for each frame cost a viewer as much CPU as the rest of
    its frame's work; no thread per viewer either."""
    r = rig()
    threads = threading.active_count()
    viewers = [r.viewer() for _ in range(16)]
    assert threading.active_count() == threads, [t.name for t in threading.enumerate()]
    r.topics.publish(TOPIC, jpeg_like(0, 50000))  # sent by the writer thread once it has the sockets
    part = viewers[0][1].output.latest.part
    assert all(receive(sock, len(part)) == part for sock, _ in viewers), 'frame 0'
    time.sleep(0.2)  # the writer thread back in poll(), where nothing wakes it but a wake-up
    wakes, wake = [], r.writer.wake
    r.writer.wake = lambda: (wakes.append(1), wake())
    for index in range(1, 6):
        r.topics.publish(TOPIC, jpeg_like(index, 50000))  # 16 x 50 kB: every socket takes it whole
        part = viewers[0][1].output.latest.part
        assert all(receive(sock, len(part)) == part for sock, _ in viewers), 'frame %d' % index
    assert len(wakes) == 0, '%d wake-ups of the writer thread for 5 frames' % len(wakes)
    assert all(client.frames_sent == 6 for _, client in viewers), [client.frames_sent for _, client in viewers]


def test_no_wake_up_is_lost_when_frames_race_the_writer(rig):
    r = rig()
    viewers = [r.viewer() for _ in range(4)]
    r.drain(viewers)
    frame = jpeg_like(0, 1000)

    def publish_many():
        for _ in range(3000):
            r.topics.publish(TOPIC, frame)
    publishers = [threading.Thread(target=publish_many, name='test publisher') for _ in range(2)]
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads interleave at almost every bytecode: races show
    try:
        for thread in publishers:
            thread.start()
        for thread in publishers:
            thread.join()
    finally:
        sys.setswitchinterval(switch_interval)
    # Every frame is sent or replaced by a newer one; a lost wake-up leaves the last one unsent.
    wait_until(lambda: all(client.frames_sent + client.frames_dropped == 6000 for _, client in viewers), 2.0,
               'the last frame sent to every viewer')


def test_viewer_that_leaves_is_detached_at_once_on_a_quiet_topic(rig):
    r = rig()
    sock, _ = r.viewer()
    sock.close()
    left = time.time()
    # With no frame and no bytes waiting the writer has no deadline and sleeps in poll() until
    # an event: only the peer's close can wake it, so any bound under send_timeout (10 s) tells
    # that apart from a writer that never notices.
    bound = 5.0
    wait_until(lambda: r.hub.client_count() == 0 and not r.topics.subscriptions(), bound, 'viewer detached')
    noticed = time.time() - left
    assert noticed < bound, 'noticed after %.2f s' % noticed


def test_stalled_viewer_does_not_delay_others_and_is_dropped_after_send_timeout(rig):
    send_timeout = 1.0
    r = rig(send_timeout=send_timeout)
    stalled_sock, stalled = r.viewer(buffer_size=65536)
    readers = [r.viewer() for _ in range(3)]
    r.drain(readers)
    started = time.time()
    dropped_after, slowest = None, 0.0
    for index in range(1, 76):  # 2.5 s at 30 fps, longer where the readers are slower
        published = time.time()
        r.topics.publish(TOPIC, jpeg_like(index, 100000))
        # Each frame reaches every reader before the next is published, so none is dropped
        # however slow this machine: a writer held by the stalled socket would keep them
        # waiting for send_timeout, which half of it tells apart.
        while not all(client.frames_sent == index for _, client in readers):
            waited = time.time() - published
            assert waited < send_timeout / 2, 'frame %d not sent to every reader (%s) %.2f s after it came, beside ' \
                'a stalled viewer; send_timeout %.0f s' % (
                    index, [client.frames_sent for _, client in readers], waited, send_timeout)
            time.sleep(0.002)
        slowest = max(slowest, time.time() - published)
        if dropped_after is None and stalled.closed:
            dropped_after = time.time() - started
        time.sleep(max(0.0, started + index / 30.0 - time.time()))
    # send_timeout (from the last byte it took) is the writer's own deadline: never before it
    # (less a frame period of the loop), and within one more.
    assert dropped_after is not None and 0.9 * send_timeout < dropped_after < 2 * send_timeout, \
        'stalled viewer dropped after %s s; send_timeout %.0f s' % (dropped_after, send_timeout)
    assert ('info', '127.0.0.1: dropped, it stopped reading for 1 s') in r.log.lines, r.log.lines
    assert [client.frames_dropped for _, client in readers] == [0, 0, 0], \
        ([client.frames_dropped for _, client in readers], slowest)
    assert stalled_sock.recv(1 << 20) and r.hub.client_count() == 3


def test_defect_in_one_client_costs_that_client_only(rig):
    r = rig()
    broken_sock, broken = r.viewer()
    sock, client = r.viewer()

    def defect():
        raise RuntimeError('defect under test')
    broken.take = defect
    for index in (1, 2):
        r.topics.publish(TOPIC, jpeg_like(index, 1000))
        part = client.output.latest.part
        assert receive(sock, len(part)) == part
    assert broken_sock.recv(1) == b'' and r.hub.client_count() == 1
    errors = [text for level, text in r.log.lines if level == 'error']
    assert len(errors) == 1 and 'defect under test' in errors[0], r.log.lines


def test_close_ends_every_connection_and_the_thread(rig):
    wait_until(lambda: not writer_threads(), 2.0, "earlier tests' writers ended")
    r = rig()
    viewers = [r.viewer() for _ in range(3)]
    r.topics.publish(TOPIC, jpeg_like(1, 1000))
    part = viewers[0][1].output.latest.part
    wait_until(lambda: all(client.frames_sent == 1 for _, client in viewers), 2.0, 'frame sent')
    r.writer.close()
    assert not writer_threads()
    assert [receive(sock, 10 ** 6) for sock, _ in viewers] == [part] * 3, 'not the part, then the end'
    assert r.hub.client_count() == 0 and not r.topics.subscriptions()


class QueueClient(object):
    """A client holding a queue of frames, as a video client does (video_clients.VideoClient)."""
    closed = False
    frames_sent = 0

    def __init__(self, frames):
        self.frames = list(frames)

    def take(self):
        return self.frames.pop(0) if self.frames else None


class Part(object):
    def __init__(self, index):
        self.part = b'frame %d;' % index


@pytest.mark.timeout(30)
def test_frames_queued_together_go_out_on_one_wake_up():
    """Frames queued while the writer was busy all go out at once: none waits for the next frame's
    wake-up (that made a video stream lag a frame, and lose its stream when the topic went quiet)."""
    writer = StreamWriter(lambda client: None, 10.0, -1.0, RecordingLog())
    try:
        viewer, served = socket.socketpair()
        viewer.settimeout(5.0)
        client = QueueClient(Part(index) for index in range(3))
        writer.add(served, client, 'test', MultipartFramer())  # add() wakes the writer once
        received = b''
        deadline = time.time() + 5.0
        while received.count(b';') < 3 and time.time() < deadline:
            received += viewer.recv(4096)
        assert received == b'frame 0;frame 1;frame 2;', 'after one wake-up: %r' % received
        wait_until(lambda: client.frames_sent == 3, 5.0, 'the writer counting the 3 frames sent')
    finally:
        writer.close()

