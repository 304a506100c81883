"""h264/vp8/vp9 streams of the built-in server on port 0, fake topics, real ffmpeg/ffprobe and HTTP."""
import time

import pytest

from conftest import require
from fake_topics import detailed_frame
from test_web_server import harness  # noqa: F401 (fixture)
from video_checks import (capture, complete_mp4, complete_webm, decode_frames, ffmpeg_available, mp4_boxes,
                          probe_frames, probe_stream, ssim, webm_elements, write_temp)

CLUSTER = 0x1f43b675


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
    assert len(frames) >= 40, 'only %d frames in 20 s' % len(frames)
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
    scores = [ssim(img, detailed_frame(cam.stamps[round(t, 3)], 640, 480)) for img, (_, t) in zip(pictures, frames)]
    mean = sum(scores) / len(scores)
    assert mean >= 0.95 and min(scores) >= 0.9, 'SSIM mean %.3f, min %.3f over %d frames' % (
        mean, min(scores), len(scores))
