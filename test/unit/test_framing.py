"""framing: each kind of stream's head and the chunks of each frame, byte by byte."""
import struct

import pytest

from camera_server import fmp4
from camera_server.framing import (PART_END, AdvanceFramer, Fmp4Packer, MultipartFramer, VideoFragment,
                                   VideoFramer, WebmPacker, encoded_image, multipart_type)
from camera_server.video_encoder import VideoSample

pytestmark = pytest.mark.unit


def test_multipart_sends_the_ready_part_and_may_repeat_it():
    image = encoded_image(3, 12.5, 'image/png', b'PNGDATA')
    assert MultipartFramer().chunks(image) == (image.part,) and MultipartFramer.repeatable
    assert image.part == (b'Content-type: image/png\r\nX-Timestamp: 12.500000\r\nContent-Length: 7\r\n\r\n'
                          b'PNGDATA' + PART_END), image.part


def test_advance_headers_put_the_next_parts_type_right_after_each_frame():
    framer = AdvanceFramer('image/jpeg')
    head = framer.head('')
    assert head.endswith(b'\r\n\r\n--boundarydonotcross\r\nContent-type: image/jpeg\r\n\r\n'), head
    chunks = framer.chunks(encoded_image(1, 1.0, 'image/png', b'X'))
    assert chunks == (b'X', PART_END + b'Content-type: image/png\r\n\r\n'), chunks


def test_video_connection_gets_each_initialization_segment_once_before_its_fragments():
    framer, first, second = VideoFramer('h264'), b'init one', b'init two'
    sent = [framer.chunks(VideoFragment(seq, 0.0, True, init, b'part %d' % seq))
            for seq, init in enumerate([first, first, second, second])]
    assert sent == [(first, b'part 0'), (b'part 1',), (second, b'part 2'), (b'part 3',)], sent
    assert not VideoFramer.repeatable
    assert b'Content-type: video/webm\r\n' in VideoFramer('vp8').head('*')


def test_fmp4_packer_durations_follow_the_stamps_unless_far_from_the_frame_period():
    packer = Fmp4Packer()
    assert packer.init_segment(320, 240, 25, None) is None  # no avcC from the encoder yet
    durations = []
    for stamp in (100.0, 100.04, 100.08, 103.0):  # 40 ms apart at 25 fps, then a 3 s pause
        part = packer.fragment(1, VideoSample(stamp, b'\0\0\0\1\x65', True), 25)
        trun = part.index(b'trun')
        durations.append(struct.unpack('>I', part[trun + 16:trun + 20])[0])
    assert durations == [3600, 3600, 3600, 3600], durations  # 40 ms in the 90 kHz timescale
    assert fmp4.TIMESCALE == 90000


def test_webm_packer_makes_a_cluster_per_frame():
    packer = WebmPacker('vp8')
    assert b'V_VP8' in packer.init_segment(320, 240, 30, None)
    assert packer.fragment(1, VideoSample(1.0, b'\x10', True), 30).startswith(b'\x1f\x43\xb6\x75')


def test_mjpeg_framing_is_web_video_servers_byte_for_byte():
    cors = (b'Access-Control-Allow-Origin: *\r\n'
            b'Access-Control-Allow-Methods: GET,POST,PUT,DELETE,HEAD,OPTIONS\r\n'
            b'Access-Control-Allow-Headers: Origin, Authorization, Accept, Content-Type\r\n'
            b'Access-Control-Max-Age: 3600\r\n')
    assert MultipartFramer().head('*') == (
        b'HTTP/1.0 200 OK\r\nConnection: close\r\nServer: web_video_server\r\n'
        b'Cache-Control: no-cache, no-store, must-revalidate, pre-check=0, post-check=0, max-age=0\r\n'
        b'Pragma: no-cache\r\nContent-type: multipart/x-mixed-replace;boundary=boundarydonotcross\r\n'
        + cors + b'\r\n--boundarydonotcross\r\n')
    assert encoded_image(1, 1234.5678915, 'image/jpeg', b'JPEGDATA').part == (
        b'Content-type: image/jpeg\r\nX-Timestamp: 1234.567892\r\n'
        b'Content-Length: 8\r\n\r\nJPEGDATA\r\n--boundarydonotcross\r\n')
    assert b'Access-Control' not in MultipartFramer().head('')


@pytest.mark.parametrize('accept, kind', [
    (None, 'multipart/x-mixed-replace'), ('*/*', 'multipart/x-mixed-replace'),
    ('image/webp,*/*', 'multipart/x-mixed-replace'), ('*/*, multipart/mixed', 'multipart/x-mixed-replace'),
    ('multipart/mixed', 'multipart/mixed'), (' MULTIPART/MIXED ;q=0.9, */*', 'multipart/mixed')])
def test_a_script_asks_for_the_parts_as_multipart_mixed(accept, kind):
    assert multipart_type(accept) == kind
    assert MultipartFramer(kind).head('*').count(b'Content-type: %s;boundary=' % kind.encode()) == 1
