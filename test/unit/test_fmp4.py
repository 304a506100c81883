"""fmp4: the H.264 initialization segment and one fragment per frame, byte by byte."""
import struct

import pytest

from camera_server import fmp4

pytestmark = pytest.mark.unit

SPS, PPS = b'\x67\x42\xc0\x1f\x00', b'\x68\xce'


def boxes(data):
    """[(type, body)] of the top-level boxes of ``data``."""
    found, offset = [], 0
    while offset < len(data):
        size, = struct.unpack('>I', data[offset:offset + 4])
        found.append((data[offset + 4:offset + 8], data[offset + 8:offset + size]))
        offset += size
    return found


def test_init_segment_is_ftyp_then_moov_with_the_avcc_and_its_codec_string():
    avcc = fmp4.avc_config(SPS, PPS)
    assert avcc == b'\x01\x42\xc0\x1f\xff\xe1\x00\x05' + SPS + b'\x01\x00\x02' + PPS, avcc
    init = fmp4.init_segment(320, 240, avcc)
    assert [kind for kind, _ in boxes(init)] == [b'ftyp', b'moov'], boxes(init)
    assert fmp4.codec_string(init[init.index(b'avcC') + 4:]) == 'avc1.42C01F'
    tkhd = init[init.index(b'tkhd') + 4:]
    assert struct.unpack('>II', tkhd[76:84]) == (320 << 16, 240 << 16), tkhd[76:84]


@pytest.mark.parametrize('keyframe,flags', [(True, fmp4.SYNC_SAMPLE_FLAGS), (False, fmp4.NON_SYNC_SAMPLE_FLAGS)])
def test_fragment_is_moof_and_mdat_with_the_capture_time_and_the_sample(keyframe, flags):
    sample = b'\0\0\0\2\x65\x88'
    part = fmp4.fragment(7, 1000.5, 3000, sample, keyframe)
    (moof, moof_body), (mdat, mdat_body) = boxes(part)
    assert (moof, mdat, mdat_body) == (b'moof', b'mdat', sample), boxes(part)
    tfdt = part.index(b'tfdt')
    assert struct.unpack('>Q', part[tfdt + 8:tfdt + 16])[0] == fmp4.media_time(1000.5) == 90045000
    trun = part.index(b'trun')
    data_offset, duration, size, sample_flags = struct.unpack('>iIII', part[trun + 12:trun + 28])
    assert part[data_offset:] == sample, data_offset  # the offset counts from the moof
    assert (duration, size, sample_flags) == (3000, len(sample), flags)
    assert struct.unpack('>I', part[part.index(b'mfhd') + 8:part.index(b'mfhd') + 12])[0] == 7
