"""A viewer joining a running h264/vp8/vp9 output gets a decodable frame at once (the output's
current group of pictures: its last keyframe and the frames since), and the viewer already
watching gets the same stream as before: no extra keyframe, every frame, the same bytes.
Built-in server on port 0, a fake 30 fps camera, real ffmpeg/ffprobe and HTTP; the default
keyframe interval."""
import random
import time

import pytest

from support.ci import require
from support.stream_client import VideoStream
from support.video_checks import (assert_watcher_unchanged, complete_mp4, complete_webm, ffmpeg_available, join_stream,
                                  percentile, probe_frames, quiet_window, watched, write_temp)

JOINS = 20  # issue 17: at least 20 joins at random moments, per codec
# Issue 17's contract, not a figure of this machine: a joiner's first decodable frame within
# 0.25 s of its request, at the 95th percentile.
FIRST_FRAME_P95_S = 0.25
START_S = 40.0  # for ffmpeg to start and the watcher to see two keyframes, on a loaded machine


@pytest.mark.parametrize('codec', ['h264', 'vp8', 'vp9'])
def test_joiners_get_a_decodable_frame_at_once_and_the_watcher_loses_nothing(harness, tmp_path, codec):
    require(ffmpeg_available(), 'ffmpeg/ffprobe are not installed (Debian package ffmpeg)')
    h = harness()
    h.camera(width=320, height=240, compressed=False, video=True)
    target = '/stream?topic=/camera/image_raw&type=%s' % codec
    watcher = VideoStream(h.port, target)
    try:
        quiet, start, period = quiet_window(watcher, h, codec, START_S)
        joins = []
        for _ in range(JOINS):
            time.sleep(random.uniform(0, start[4] * period))  # anywhere in a group of pictures
            joins.append(join_stream(h.port, target, 10.0))
        end = watched(watcher, h, codec)
    finally:
        watcher.close()
    waits = [seconds for seconds, _ in joins]
    print('%s: first whole frame after %s s (p95 %.3f s)' % (codec, ' '.join('%.3f' % w for w in sorted(waits)),
                                                           percentile(waits, 0.95)))
    assert percentile(waits, 0.95) <= FIRST_FRAME_P95_S, \
        '%s joiners: first whole frame p95 %.3f s after the request (contract: %.2f s): %s' % (
            codec, percentile(waits, 0.95), FIRST_FRAME_P95_S, sorted(waits))
    for index, (_, body) in enumerate(joins):  # what came first decodes alone, as a keyframe
        decoded = probe_frames(write_temp(tmp_path, 'join%d.%s' % (index, codec), body))
        assert len(decoded) == 1 and decoded[0][0] == 1, 'join %d: its first frame decodes as %s' % (index, decoded)
    assert_watcher_unchanged(codec, quiet, start, end)
    body = (complete_mp4 if codec == 'h264' else complete_webm)(watcher.body())
    keyframes = [i for i, (key, _) in enumerate(probe_frames(write_temp(tmp_path, 'watcher.' + codec, body))) if key]
    intervals = set(b - a for a, b in zip(keyframes, keyframes[1:]))
    assert intervals == {start[4]}, '%s watcher: keyframe intervals %s, gop %d: a joiner made one' % (
        codec, sorted(intervals), start[4])
