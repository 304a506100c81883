"""h264/vp8/vp9 streams of the built-in server on port 0, fake topics, real ffmpeg/ffprobe and HTTP."""
import json
import os
import signal
import socket
import time

import pytest

from camera_server.web_params import DEFAULT_CONFIG
from camera_server.web_server import CameraWebServer
from support.ci import require
from support.fake_topics import Camera, FakeTopics
from support.frames import make_frame
from support.stream_client import MjpegStream, VideoStream, capture, http_get
from support.video_checks import (complete_mp4, complete_webm, decode_frames, ffmpeg_available, mp4_boxes, probe_frames,
                                  probe_stream, ssim, webm_elements, write_temp)
from support.waits import wait_until

CLUSTER = 0x1f43b675
DEADLINE_S = 40.0  # upper bound of a wait for frames: ffmpeg starts in about 1 s, much later on a loaded machine


@pytest.fixture(autouse=True)
def needs_ffmpeg():
    require(ffmpeg_available(), 'ffmpeg/ffprobe are not installed (Debian package ffmpeg)')


def video_target(kind, query=''):
    return '/stream?topic=/camera/image_raw&type=%s%s' % (kind, query)


def enough(kind, frames):
    """capture()'s ``until``: true once the body holds ``frames`` frames (plus one, maybe cut)."""
    marker = b'moof' if kind == 'h264' else b'\x1f\x43\xb6\x75'
    return lambda body: body.count(marker) > frames


def stream_file(h, tmp_path, kind, query='', frames=40, seconds=20.0):
    """A stream's reply head and its complete frames (at least ``frames`` unless ``seconds`` pass)."""
    status, headers, body = capture(h.port, video_target(kind, query), seconds, enough(kind, frames))
    assert status == 200, (status, body[:200])
    data = complete_mp4(body) if kind == 'h264' else complete_webm(body)
    return headers, data, write_temp(tmp_path, 'capture.' + ('mp4' if kind == 'h264' else 'webm'), data)


def keyframe_intervals(frames):
    keys = [i for i, (key, _) in enumerate(frames) if key]
    return [b - a for a, b in zip(keys, keys[1:])]


@pytest.mark.parametrize('kind,codec,profiles,content_type', [
    ('h264', 'h264', ('Constrained Baseline', 'Main', 'High'), 'video/mp4'),
    ('vp8', 'vp8', ('0',), 'video/webm'),
    ('vp9', 'vp9', ('Profile 0',), 'video/webm')])
def test_stream_is_valid_video_with_capture_stamps(harness, tmp_path, kind, codec, profiles, content_type):
    h = harness()
    cam = h.camera(width=320, height=240, compressed=False, video=True)
    headers, data, path = stream_file(h, tmp_path, kind, '&gop=10')
    assert headers['content-type'] == content_type and 'content-length' not in headers, headers
    assert headers['expires'] == '0' and headers['server'] == 'web_video_server', headers
    stream = probe_stream(path)
    assert (stream['codec_name'], stream['width'], stream['height'], stream['pix_fmt']) == (
        codec, 320, 240, 'yuv420p'), stream
    assert stream.get('profile') in profiles, stream.get('profile')
    frames = probe_frames(path)
    # Not a rate: enough frames to judge three keyframe intervals of gop=10.
    assert len(frames) > 30, 'only %d frames in 20 s, fewer than three GOPs of 10 to judge' % len(frames)
    assert frames[0][0] == 1, 'the stream does not start at a keyframe: %s' % frames[:3]
    intervals = keyframe_intervals(frames)
    assert intervals and set(intervals) == {10}, 'keyframe intervals %s, gop=10' % intervals
    # every frame's presentation time is the capture stamp of the image it came from
    unknown = [t for _, t in frames if round(t, 3) not in cam.stamps]
    assert not unknown, 'times not among the capture stamps: %s' % unknown[:5]
    # the rate after the encoder's start-up (the first frame waits for ffmpeg to load)
    steady = frames[1:]
    rate = (len(steady) - 1) / (steady[-1][1] - steady[0][1])
    num, den = stream['avg_frame_rate'].split('/')
    if kind == 'h264':  # WebM has no frame durations: ffprobe's rate comes from the stamps
        assert abs(float(num) / float(den) - rate) < 0.1 * rate, (stream['avg_frame_rate'], rate)
    if kind == 'h264':
        kinds = [b[0] for b in mp4_boxes(data)]
        assert kinds[:2] == ['ftyp', 'moov'] and kinds[2:] == ['moof', 'mdat'] * ((len(kinds) - 2) // 2), kinds[:8]
        assert kinds.count('moof') == len(frames), 'moof boxes %d for %d frames' % (kinds.count('moof'), len(frames))
    else:
        clusters = [e for e in webm_elements(data) if e[0] == CLUSTER]
        assert len(clusters) == len(frames), 'clusters %d for %d frames' % (len(clusters), len(frames))


@pytest.mark.parametrize('kind', ['h264', 'vp8'])
def test_decoded_frames_match_the_source(harness, tmp_path, kind):
    h = harness()
    cam = h.camera(width=640, height=480, compressed=False, video=True)
    _, _, path = stream_file(h, tmp_path, kind, frames=30)
    frames = probe_frames(path)
    pictures = decode_frames(path, 640, 480)
    assert len(pictures) == len(frames) >= 20, (len(pictures), len(frames))
    scores = [ssim(img, make_frame(cam.stamps[round(t, 3)], 640, 480, 'detailed')) for img, (_, t) in zip(pictures, frames)]
    mean = sum(scores) / len(scores)
    assert mean >= 0.95 and min(scores) >= 0.9, 'SSIM mean %.3f, min %.3f over %d frames' % (
        mean, min(scores), len(scores))


def test_no_ffmpeg_is_501_naming_the_package_and_mjpeg_goes_on(harness):
    h = harness(ffmpeg='/nonexistent/bin/ffmpeg')
    h.camera(compressed=False)
    for kind in ('h264', 'vp8', 'vp9'):
        status, _, body = http_get(h.port, video_target(kind))
        text = body.decode('utf-8')
        assert status == 501 and 'install the package ffmpeg' in text and text.count('\n') == 1, (status, text)
    stream = MjpegStream(h.port, '/stream?topic=/camera/image_raw')
    try:
        part, payload = stream.read_frame()
        assert part['content-type'] == 'image/jpeg' and len(payload) > 1000, part
    finally:
        stream.close()


class ListLog(object):
    """The server's log funnel, kept in a list."""

    def __init__(self):
        self.lines = []

    def _add(self, text):
        self.lines.append(text)
    debug = info = warning = error = _add


def video_server(**config):
    topics = FakeTopics()
    log = ListLog()
    server = CameraWebServer(('127.0.0.1', 0), DEFAULT_CONFIG._replace(**config), topics.topic_types,
                             topics.subscribe, log)
    server.start()
    return topics, server, log


def video_outputs(port):
    status, _, body = http_get(port, '/health')
    health = json.loads(body.decode('utf-8'))
    return [o for topic in health['topics'] for o in topic['outputs'] if o['type'] in ('h264', 'vp8', 'vp9')]


@pytest.mark.parametrize('kind', ['h264', 'vp8'])
def test_killed_encoder_is_restarted_said_once_and_viewers_resume(tmp_path, kind):
    topics, server, log = video_server()
    cam = Camera(topics, compressed=False, video=True).start()
    reader = VideoStream(server.port, video_target(kind))
    try:
        wait_until(lambda: reader.frames(kind) >= 10, DEADLINE_S, '10 frames')
        pid = video_outputs(server.port)[0]['encoder_pid']
        os.kill(pid, signal.SIGKILL)
        before = reader.frames(kind)
        wait_until(lambda: reader.frames(kind) >= before + 20, DEADLINE_S, 'the stream resumed after the kill')
        output = video_outputs(server.port)[0]
        assert output['encoder_restarts'] == 1 and output['encoder_pid'] != pid, output
        said = [line for line in log.lines if 'stopped' in line]
        assert len(said) == 1 and 'restarting' in said[0], log.lines
        path = write_temp(tmp_path, 'killed', complete_mp4(reader.body()) if kind == 'h264'
                          else complete_webm(reader.body()))
        frames = probe_frames(path)
        assert len(frames) >= before + 20 and frames[0][0] == 1, (len(frames), before)
    finally:
        reader.close()
        cam.stop()
        server.stop()


def test_size_change_sends_a_new_init_segment(tmp_path):
    topics, server, log = video_server()
    cam = Camera(topics, compressed=False, video=True).start()
    reader = VideoStream(server.port, video_target('h264'))
    try:
        wait_until(lambda: reader.frames('h264') >= 10, DEADLINE_S, '10 frames')
        cam.width, cam.height = 480, 360
        wait_until(lambda: reader.body().count(b'ftyp') == 2 and reader.frames('h264') > 30, DEADLINE_S,
                   'a second init segment and frames after it')
    finally:
        reader.close()
        cam.stop()
        server.stop()
    body = reader.body()
    second = body.index(b'ftyp', 8) - 4
    for data, size in ((body[:second], (320, 240)), (body[second:], (480, 360))):
        path = write_temp(tmp_path, 'part%d.mp4' % size[0], complete_mp4(data))
        stream = probe_stream(path)
        frames = probe_frames(path)
        assert (stream['width'], stream['height']) == size and len(frames) >= 5 and frames[0][0] == 1, (
            stream['width'], stream['height'], len(frames))
    assert any('480x360' in line for line in log.lines), log.lines


def test_joiners_get_init_and_a_keyframe_at_once_and_eight_viewers_share_one_encoder(harness, tmp_path):
    h = harness()
    h.camera(compressed=False, video=True)
    first = VideoStream(h.port, video_target('h264', '&gop=30'))
    readers = [first]
    try:
        wait_until(lambda: first.frames('h264') >= 40, DEADLINE_S, '40 frames for the first viewer')
        joined = time.time()
        for _ in range(7):
            readers.append(VideoStream(h.port, video_target('h264', '&gop=30')))
        waits = [wait_until(lambda: r.first_frame_at, 10, 'a frame for a joiner') - joined for r in readers[1:]]
        wait_until(lambda: all(r.frames('h264') >= 10 for r in readers), DEADLINE_S, '10 frames for every viewer')
        outputs = video_outputs(h.port)
        assert len(outputs) == 1 and outputs[0]['clients'] == 8, outputs
        pid = outputs[0]['encoder_pid']
        rate = outputs[0]['frames_per_s']
        # the output's current group of pictures, at once: far less than waiting for the next
        # keyframe could take (up to gop / rate seconds)
        assert max(waits) <= 0.5 * 30.0 / rate, 'joiners waited %s s at %.1f fps, gop 30' % (waits, rate)
        for index, reader in enumerate(readers[1:]):
            body = reader.body()
            assert body[4:8] == b'ftyp', body[:16]
            path = write_temp(tmp_path, 'joiner%d.mp4' % index, complete_mp4(body))
            frames = probe_frames(path)
            assert frames and frames[0][0] == 1, frames[:3]
    finally:
        for reader in readers:
            reader.close()
    wait_until(lambda: not video_outputs(h.port), 5, 'the output stopped after the last viewer')
    wait_until(lambda: not os.path.exists('/proc/%d' % pid), 5, 'ffmpeg %d gone after the last viewer' % pid)


def test_slow_viewer_skips_to_keyframes_without_slowing_others(harness):
    h = harness(send_timeout=30.0)
    h.camera(compressed=False, noise=True)
    target = video_target('h264', '&bitrate=20000000&gop=10')
    stalled = socket.create_connection(('127.0.0.1', h.port), 5)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(('GET %s HTTP/1.0\r\n\r\n' % target).encode('ascii'))
    reader = VideoStream(h.port, target)
    try:
        wait_until(lambda: reader.frames('h264') >= 20, DEADLINE_S, '20 frames for the reading viewer')
        before, produced = reader.frames('h264'), video_outputs(h.port)[0]['frames_total']
        time.sleep(3.0)
        output = video_outputs(h.port)[0]
        viewers = output['viewers']
        got, made = reader.frames('h264') - before, output['frames_total'] - produced
        assert got >= 0.9 * made and made > 0, 'the reading viewer got %d of %d frames next to a stalled one' % (
            got, made)
        dropped = sorted(v['frames_dropped'] for v in viewers)
        assert dropped[0] == 0 and dropped[1] > 0, 'frames dropped per viewer: %s' % dropped
    finally:
        stalled.close()
        reader.close()


def test_size_and_invert_from_the_camera_jpeg(harness, tmp_path):
    """From T/compressed (decoded smaller when the output is smaller): the size asked, an odd side made even."""
    h = harness()
    h.camera(width=640, height=480, video=True)
    _, _, path = stream_file(h, tmp_path, 'h264', '&width=321&invert', frames=10)
    stream = probe_stream(path)
    assert (stream['width'], stream['height']) == (320, 240), (stream['width'], stream['height'])
