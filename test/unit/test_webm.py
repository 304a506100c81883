"""webm: EBML sizes, the live Segment head and one Cluster per frame."""
import struct

import pytest

from camera_server import webm

pytestmark = pytest.mark.unit


@pytest.mark.parametrize('size,encoded', [(0, b'\x80'), (126, b'\xfe'), (127, b'\x40\x7f'),
                                          (16382, b'\x7f\xfe'), (16383, b'\x20\x3f\xff')])
def test_size_vint_is_the_shortest_and_avoids_the_reserved_all_ones(size, encoded):
    assert webm.size_vint(size) == encoded, webm.size_vint(size)


def test_init_segment_names_the_codec_and_size_and_leaves_the_segment_open():
    init = webm.init_segment('vp9', 640, 480, 30)
    assert init.startswith(b'\x1a\x45\xdf\xa3') and b'webm' in init and b'V_VP9' in init, init[:40]
    assert b'\x18\x53\x80\x67' + webm.UNKNOWN_SIZE in init
    assert b'\xb0\x82\x02\x80' in init and b'\xba\x82\x01\xe0' in init  # PixelWidth 640, PixelHeight 480


def test_init_segment_marks_a_live_stream_of_the_frame_rate():
    """DateUTC (the Unix epoch, in ns from 2001-01-01) and no Duration: a live stream to Chromium;
    DefaultDuration: each frame's length in ns."""
    init = webm.init_segment('vp8', 640, 480, 25)
    assert b'\x44\x61\x88' + struct.pack('>q', -978307200 * 10 ** 9) in init, init
    assert webm.uint(b'\x23\xe3\x83', 40000000) in init and b'\x44\x89' not in init, init


@pytest.mark.parametrize('keyframe,flags', [(True, b'\x80'), (False, b'\x00')])
def test_cluster_carries_the_capture_time_in_ms_and_one_simple_block(keyframe, flags):
    cluster = webm.cluster(1000.5, b'\x10\x02\x00', keyframe)
    assert cluster[:4] == b'\x1f\x43\xb6\x75', cluster
    assert webm.uint(b'\xe7', 1000500) in cluster  # Timecode in milliseconds
    assert cluster.endswith(b'\xa3\x87\x81\x00\x00' + flags + b'\x10\x02\x00'), cluster
