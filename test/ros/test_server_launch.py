"""server.launch with a real ROS master: capture and built-in web server, real HTTP clients.

Two launches: device:=test (the moving test pattern) and a generated MJPG video file, each in
both pipelines: one_process (the camera node serves the web) and two_nodes (capture node +
web server node). Each test asserts on bytes, pixels, rates or timings, with the measured
values in the message.
"""
import os
import shutil
import tempfile
import threading
import time
import xmlrpc.client

import cv2
import numpy as np
import pytest

from camera_server.request_heads import LINGER_S
from camera_server.web_server_node import MASTER_TIMEOUT_S
from support.ros_master import stop
from support.stream_client import MjpegStream, http_get
from support.frames import make_frame, read_index
from support.video_files import avi_jpeg_chunks, write_video
from support.waits import wait_until
from support.web_checks import (PIPELINES, TOPIC, child_programs, decode, mean_diff, produced, read_all,
                                server_launch, topic_stats)


@pytest.fixture(scope='module', params=PIPELINES)
def pattern(request):
    with server_launch(device='test', pipeline=request.param) as launched:
        yield launched


@pytest.fixture(scope='module', params=PIPELINES)
def video(request):
    folder = tempfile.mkdtemp(prefix='camera_server_web_')
    path = os.path.join(folder, 'clip.avi')
    write_video(path, 90, fourcc='MJPG', fps=30.0)
    try:
        with server_launch(device=path, loop='true', pipeline=request.param) as launched:
            launched.path = path
            yield launched
    finally:
        shutil.rmtree(folder)


def test_pages_snapshot_and_health(pattern):
    status, _, body = http_get(pattern.port, '/')
    page = body.decode('utf-8')
    assert status == 200 and '<li>/camera/<ul><li><a href="/stream_viewer?topic=/camera/image_raw">' in page, page
    status, _, body = http_get(pattern.port, '/stream_viewer?topic=' + TOPIC)
    assert status == 200 and b'<h1>/camera/image_raw</h1>' in body, (status, body[:300])
    status, headers, body = http_get(pattern.port, '/snapshot?topic=' + TOPIC)
    assert status == 200 and headers['content-type'] == 'image/jpeg', (status, headers)
    assert decode(body).shape == (480, 640, 3), decode(body).shape
    health = pattern.health()
    assert health['status'] == 'ok' and health['clients'] == 0, health


def test_streams_match_the_camera_jpeg(pattern):
    """ros_compressed and default mjpeg carry the camera's JPEG bytes; a re-encoded stream shows the same picture."""
    folder = tempfile.mkdtemp(prefix='camera_server_rec_')
    recorder = pattern.helper('record', TOPIC + '/compressed', '120', folder)
    results = {}
    try:
        # The recorder receives before the streams start and until it has every frame they got,
        # however long its start or its callbacks take on this machine.
        wait_until(lambda: os.listdir(folder), 30, 'the recorder receiving %s/compressed' % TOPIC)

        def read(name, target):
            results[name] = pattern.read_frames(target, 3.0)
        readers = [threading.Thread(target=read, args=item) for item in (
            ('ros_compressed', '/stream?topic=%s&type=ros_compressed' % TOPIC),
            ('mjpeg', '/stream?topic=%s' % TOPIC),
            ('encoded', '/stream?topic=%s&quality=90' % TOPIC))]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(20)
        streamed = set(part['x-timestamp'] for frames in results.values() for part, _ in frames)
        wait_until(lambda: streamed <= set(name[:-4] for name in os.listdir(folder)), 20,
                   'the recorder has every streamed stamp')
    finally:
        stop(recorder)
    recorded = {}
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), 'rb') as handle:
            recorded[name[:-4]] = handle.read()
    shutil.rmtree(folder)
    for name in ('ros_compressed', 'mjpeg'):
        frames = results[name]
        stamps = sorted(float(part['x-timestamp']) for part, _ in frames)
        published = sum(1 for stamp in recorded if stamps[0] <= float(stamp) <= stamps[-1])
        same = [payload == recorded[part['x-timestamp']] for part, payload in frames]
        assert all(same), '%s: %d of %d frames identical to the camera JPEG' % (name, sum(same), len(frames))
        # Forwarding costs nothing: a stream misses few of the frames the camera sent meanwhile.
        assert len(frames) > 10 and len(frames) >= 0.8 * published, \
            '%s: %d frames of the %d the camera published in the same span' % (name, len(frames), published)
    encoded = results['encoded']
    for part, payload in encoded:
        diff = mean_diff(decode(payload), decode(recorded[part['x-timestamp']]))
        assert diff < 4.0, 'frame %s re-encoded differs from the camera JPEG by %.2f' % (part['x-timestamp'], diff)
    assert len(encoded) > 10, 'only %d re-encoded frames in 3 s' % len(encoded)


def test_width_height_quality_invert(pattern):
    results = {}

    def read(name, query):
        results[name] = dict((part['x-timestamp'], payload) for part, payload in
                             pattern.read_frames('/stream?topic=%s&%s' % (TOPIC, query), 2.0))
    queries = {'plain': 'quality=95', 'inverted': 'quality=95&invert', 'low': 'quality=20',
               'width': 'width=320', 'height': 'height=120', 'both': 'width=200&height=100'}
    readers = [threading.Thread(target=read, args=item) for item in queries.items()]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(20)
    sizes = dict((name, decode(next(iter(frames.values()))).shape[1::-1]) for name, frames in results.items())
    assert sizes['width'] == (320, 240) and sizes['height'] == (160, 120) and sizes['both'] == (200, 100), sizes
    common = sorted(set(results['plain']) & set(results['inverted']))
    assert common, 'no common stamps between plain and inverted streams'
    diff = mean_diff(cv2.rotate(decode(results['plain'][common[0]]), cv2.ROTATE_180),
                     decode(results['inverted'][common[0]]))
    assert diff < 2.0, 'inverted frame differs from the rotated plain one by %.2f' % diff
    low = np.mean([len(p) for p in results['low'].values()])
    high = np.mean([len(p) for p in results['plain'].values()])
    assert low < 0.6 * high, 'quality=20 frames %.0f bytes, quality=95 %.0f bytes' % (low, high)


def test_unknown_topic_404_and_silent_snapshot_503(pattern):
    started = time.time()
    status, _, body = http_get(pattern.port, '/stream?topic=/no/such/topic')
    elapsed = time.time() - started
    # At once: one topic list from the master, no wait for the topic to appear; a master call
    # that hung would end at the web server's master-call timeout.
    assert status == 404 and b'not advertised' in body and elapsed < MASTER_TIMEOUT_S, \
        '%s %r after %.2f s; master-call timeout %.0f s' % (status, body, elapsed, MASTER_TIMEOUT_S)
    advertiser = pattern.helper('advertise', '/silent/image_raw')
    try:
        wait_until(lambda: b'/silent/image_raw' in http_get(pattern.port, '/')[2], 15, 'silent topic listed')
        started = time.time()
        status, _, body = http_get(pattern.port, '/snapshot?topic=/silent/image_raw', timeout=10)
        elapsed = time.time() - started
        # ~stale_after (2 s) ends the wait before ~snapshot_timeout (3 s): 503 with the reason
        # (504 would be the later deadline). Both are the server's own timers: never before the
        # first, and not later than the second would have answered, give or take its check.
        assert status == 503 and b'/silent/image_raw has no signal' in body, (status, elapsed, body)
        assert 1.9 < elapsed < 3.5, 'silent snapshot answered after %.2f s (~stale_after 2 s, ~snapshot_timeout ' \
            '3 s)' % elapsed
    finally:
        stop(advertiser)


def test_eight_clients_full_rate_one_encode_per_frame(pattern):
    streams = [MjpegStream(pattern.port, '/stream?topic=%s&quality=80' % TOPIC) for _ in range(8)]
    seconds = 4.0
    counts, before, after = read_all(streams, seconds, pattern.health)
    messages, encodes = produced(before, after, TOPIC)
    output = topic_stats(after, TOPIC)['outputs'][0]
    assert output['clients'] == 8 and len(after['topics']) == 1, after
    assert messages > 0 and 0.8 * messages <= encodes <= messages + 1, \
        '%d encodes for %d camera messages with 8 clients: one per message expected' % (encodes, messages)
    assert min(counts) >= 0.9 * encodes - 2, 'frames per client in %.0f s: %s, of %d encoded' % (
        seconds, counts, encodes)


def test_stalled_client_does_not_slow_the_others(pattern):
    target = '/stream?topic=%s&quality=95' % TOPIC
    stalled = MjpegStream(pattern.port, target, receive_buffer=4096)
    try:
        wait_until(lambda: pattern.health()['clients'] == 1, 5, 'stalled client attached')
        before = pattern.health()
        frames = pattern.read_frames(target, 5.0)
        health = pattern.health()
    finally:
        stalled.close()
    _, encodes = produced(before, health, TOPIC)
    assert len(frames) >= 0.9 * encodes - 2, '%d frames in 5 s next to a stalled client, of %d encoded' % (
        len(frames), encodes)
    dropped = [c['frames_dropped'] for c in health['client_list']]
    assert max(dropped) > 10, 'the stalled client skips frames instead of queueing them: %s' % dropped


def master_subscribers(env, node):
    master = xmlrpc.client.ServerProxy(env['ROS_MASTER_URI'])
    _, _, (_, subscribers, _) = master.getSystemState('/test')
    return [topic for topic, nodes in subscribers if node in nodes]


def test_connect_disconnect_cycles_leave_nothing_behind(pattern):
    baseline = pattern.health()['threads']
    started = time.time()
    for i in range(200):
        stream = MjpegStream(pattern.port, '/stream?topic=%s%s' % (TOPIC, '&quality=70' if i % 2 else ''))
        stream.read_frame()
        stream.close()
    elapsed = time.time() - started
    wait_until(lambda: pattern.health()['subscriptions'] == 0 and pattern.health()['clients'] == 0, 5,
               'clients and subscriptions gone')
    wait_until(lambda: pattern.health()['threads'] <= baseline, 5, 'threads back to %d' % baseline)
    wait_until(lambda: not master_subscribers(pattern.env, pattern.web_node), 5,
               'web server has no subscription left at the master')
    # A cycle needs one frame, the camera's at most 33 ms away; one that waited on any of the
    # server's own timers would take the shortest of them (LINGER_S), however fast the machine.
    assert elapsed / 200 < LINGER_S, '200 cycles took %.1f s, %.3f s each; the server\'s shortest timer %.1f s' % (
        elapsed, elapsed / 200, LINGER_S)


def test_web_server_gets_the_camera_in_memory_or_through_ros(pattern):
    """one_process: the web server's subscription is in the camera's process, not at the master;
    two_nodes: it is the web server node's ROS subscription."""
    stream = MjpegStream(pattern.port, '/stream?topic=%s' % TOPIC)
    try:
        stream.read_frame()
        subscribers = master_subscribers(pattern.env, pattern.web_node)
    finally:
        stream.close()
    expected = [] if pattern.pipeline == 'one_process' else [TOPIC + '/compressed']
    assert subscribers == expected, '%s: %s subscribes to %s at the master' % (
        pattern.pipeline, pattern.web_node, subscribers)


def test_video_file_frames_match_the_file(video):
    """The file's own JPEG frames forwarded, and re-encoded; no node maps OpenCV for either."""
    chunks = set(avi_jpeg_chunks(video.path))
    forwarded = video.read_frames('/stream?topic=%s&type=ros_compressed' % TOPIC, 2.0)
    same = [payload in chunks for _, payload in forwarded]
    assert len(forwarded) > 40 and all(same), '%d of %d forwarded frames are JPEG chunks of the file' % (
        sum(same), len(forwarded))
    for part, payload in video.read_frames('/stream?topic=%s&quality=90' % TOPIC, 2.0):
        img = decode(payload)
        index = read_index(img)
        diff = mean_diff(img, make_frame(index))
        assert 0 <= index < 90 and diff < 6.0, 'frame %s: index %d differs from the file by %.2f' % (
            part['x-timestamp'], index, diff)
    nodes = child_programs(video.launch_pid, ('capture_node', 'pipeline_node', 'server'))
    assert len(nodes) == (1 if video.pipeline == 'one_process' else 2), nodes
    for name, pid in nodes.items():
        with open('/proc/%d/maps' % pid) as maps:
            opencv = sorted(set(line.split()[-1] for line in maps if 'libopencv' in line))
        assert not opencv, '%s maps %d OpenCV libraries, e.g. %s' % (name, len(opencv), opencv[:3])


@pytest.mark.parametrize('query', ['', '&quality=80'])
def test_latency_from_capture_stamp_to_client(pattern, query):
    """The test pattern stamps frames at capture; forwarded and re-encoded frames are not queued:
    half of them arrive within a frame period."""
    stream = MjpegStream(pattern.port, '/stream?topic=%s%s' % (TOPIC, query))
    delays, stamps = [], []
    try:
        for _ in range(60):
            part, _ = stream.read_frame()
            stamps.append(float(part['x-timestamp']))
            delays.append(time.time() - stamps[-1])
    finally:
        stream.close()
    delays = sorted(delays[10:])  # the first frames may be the cached one
    period = float(np.median(np.diff(stamps[10:])))  # the camera's own frame period, the unit of lag
    median, p90, worst = delays[len(delays) // 2], delays[int(0.9 * len(delays))], delays[-1]
    print('latency %r: median %.1f ms, p90 %.1f ms, max %.1f ms, frame period %.1f ms' % (
        query, 1000 * median, 1000 * p90, 1000 * worst, 1000 * period))
    # A queued frame shows in the median as a whole frame period; the tail (p90, max) is this
    # machine's scheduler under load (p90 84 ms beside stress-ng --cpu 2), shown, not judged.
    assert median < period, 'capture-to-client latency median %.1f ms (p90 %.1f ms): a frame period is %.1f ms' % (
        1000 * median, 1000 * p90, 1000 * period)
