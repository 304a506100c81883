"""ffmpeg_output: FLV and IVF streams split into frames, NAL units, keyframe bits; synthetic streams."""
import io
import struct

import pytest

from camera_server import fmp4, ffmpeg_output

pytestmark = pytest.mark.unit

SPS, PPS, IDR = b'\x67\x42\xc0\x1f\x8c', b'\x68\xce', b'\x65\x88\x84'


def flv_tag(kind, millis, body):
    size = len(body)
    head = struct.pack('>B', kind) + struct.pack('>I', size)[1:] + struct.pack('>I', millis)[1:] \
        + struct.pack('>I', millis)[:1] + b'\0\0\0'
    return head + body + struct.pack('>I', size + 11)


def avc_tag(millis, packet_type, payload, keyframe):
    return flv_tag(9, millis, struct.pack('>BB', (1 if keyframe else 2) << 4 | 7, packet_type) + b'\0\0\0' + payload)


def length_prefixed(*units):
    return b''.join(struct.pack('>I', len(unit)) + unit for unit in units)


def test_flv_gives_the_sequence_header_and_each_frame_with_its_time():
    avcc = fmp4.avc_config(SPS, PPS)
    stream = io.BytesIO(b'FLV\x01\x01\0\0\0\x09\0\0\0\0' + flv_tag(18, 0, b'metadata')
                        + avc_tag(0, 0, avcc, True) + avc_tag(33, 1, length_prefixed(IDR), True)
                        + avc_tag(67, 1, length_prefixed(b'\x41\x9a'), False))
    configs, frames = [], []
    ffmpeg_output.read_flv(stream, configs.append, lambda *frame: frames.append(frame))
    assert configs == [avcc]
    assert frames == [(0.033, length_prefixed(IDR), True), (0.067, length_prefixed(b'\x41\x9a'), False)], frames


def test_flv_cut_short_ends_without_a_partial_frame():
    data = b'FLV\x01\x01\0\0\0\x09\0\0\0\0' + avc_tag(33, 1, length_prefixed(IDR), True)
    frames = []
    ffmpeg_output.read_flv(io.BytesIO(data[:-5]), None, lambda *frame: frames.append(frame))
    assert frames == []


def test_annex_b_payload_becomes_an_mp4_sample_and_in_band_parameters_an_avcc():
    sample = ffmpeg_output.mp4_sample(b'\0\0\0\1' + SPS + b'\0\0\1' + PPS + b'\0\0\0\1' + IDR)
    assert sample == length_prefixed(SPS, PPS, IDR), sample
    assert ffmpeg_output.in_band_avcc(sample) == fmp4.avc_config(SPS, PPS)
    assert ffmpeg_output.in_band_avcc(length_prefixed(IDR)) is None
    assert ffmpeg_output.length_prefixed_units(sample) == [SPS, PPS, IDR]


def test_ivf_gives_each_frame_with_its_time_and_keyframe_bit():
    header = b'DKIF' + struct.pack('<HHIHHIII', 0, 32, 0x30385056, 320, 240, 30, 1, 2) + b'\0' * 4
    frames_in = [(0, b'\x10\x02\x00'), (1, b'\x11\x02\x00'), (2, b'')]  # an empty frame is skipped
    data = header + b''.join(struct.pack('<IQ', len(f), pts) + f for pts, f in frames_in)
    frames = []
    ffmpeg_output.read_ivf(io.BytesIO(data), 'vp8', lambda *frame: frames.append(frame))
    assert [(round(t, 4), f, k) for t, f, k in frames] == [(0.0, b'\x10\x02\x00', True),
                                                          (0.0333, b'\x11\x02\x00', False)], frames


@pytest.mark.parametrize('frame,keyframe', [(b'\x82', True), (b'\x86', False), (b'\x8a', False),
                                            (b'\xb1', True), (b'\xb5', False)])
def test_vp9_keyframe_reads_the_uncompressed_header_of_every_profile(frame, keyframe):
    assert ffmpeg_output.vp9_keyframe(frame) == keyframe, bin(ord(frame))


def test_split_nal_units_drops_start_codes_and_trailing_zeros():
    assert ffmpeg_output.split_nal_units(b'\0\0\0\1\x67\x42\0\0\0\1\x68\xce') == [b'\x67\x42', b'\x68\xce']
    assert ffmpeg_output.split_nal_units(b'no start code') == []
