"""The viewer's stream parsers (www/stream_parsers.js), run under node on the bytes the server's
own framers make (framing.encoded_image, fmp4, webm), fed in pieces as fetch() hands them over.
A parser must find every unit whole whatever the cut, with the capture stamps the framer wrote."""
import base64
import json
import os
import shutil
import struct
import subprocess

import pytest

from camera_server import fmp4, framing, webm
from support.ci import require

DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'js', 'parse_stream.js')
STAMP = 1796536350.25  # a capture stamp of December 2026: media times are seconds since the epoch
PERIOD_S = 1 / 30.0
# An SPS (Constrained Baseline, level 3.1) and a PPS: the parser reads the profile bytes only.
SPS, PPS = b'\x67\x42\xc0\x1f\xda\x02\x80\xbf\xe5\x84', b'\x68\xce\x3c\x80'


def parse(parser, data, cut, lengthen=None):
    """The node driver's answer for ``data`` handed over in pieces of ``cut`` bytes."""
    require(shutil.which('node'), 'node is not installed (apt-get install nodejs)')
    chunks = [base64.b64encode(data[i:i + cut]).decode() for i in range(0, len(data), cut)]
    result = subprocess.run(['node', DRIVER], input=json.dumps({'parser': parser, 'chunks': chunks,
                                                                'lengthen': lengthen}).encode(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    answer = json.loads(result.stdout.decode())
    for unit in answer['units']:
        unit['bytes'] = base64.b64decode(unit['bytes'])
    return answer


CUTS = [1, 7, 100, 1 << 20]  # a byte at a time, odd pieces, packets, everything at once


@pytest.mark.parametrize('cut', CUTS)
def test_multipart_parts_with_their_types_and_stamps(cut):
    payloads = [b'\xff\xd8' + bytes([i]) * (50 + 30 * i) + b'\xff\xd9' for i in range(3)]
    body = b'--%s\r\n' % framing.BOUNDARY.encode()
    for i, payload in enumerate(payloads):
        body += framing.encoded_image(i, STAMP + i * PERIOD_S, 'image/png' if i == 1 else 'image/jpeg', payload).part
    answer = parse('multipart', body + b'Content-type: image/jpeg\r\nContent-Length: 9', cut)
    parts = answer['units']
    assert [p['bytes'] for p in parts] == payloads and answer['error'] is None, answer
    assert [p['type'] for p in parts] == ['image/jpeg', 'image/png', 'image/jpeg'], parts
    stamps = [p['stamp'] for p in parts]
    assert all(abs(s - (STAMP + i * PERIOD_S)) < 1e-6 for i, s in enumerate(stamps)), stamps


def test_multipart_part_without_a_stamp_has_none():
    body = b'Content-type: image/jpeg\r\nContent-Length: 3\r\n\r\nabc\r\n--b\r\n'
    parts = parse('multipart', body, 10)['units']
    assert [(p['bytes'], p['stamp']) for p in parts] == [(b'abc', None)], parts  # NaN in the page


def h264_stream(count):
    """An init segment and ``count`` one-frame fragments as video_stream sends them."""
    avcc = fmp4.avc_config(SPS, PPS)
    data = fmp4.init_segment(640, 480, avcc)
    duration = int(round(PERIOD_S * fmp4.TIMESCALE))
    for i in range(count):
        sample = struct.pack('>I', 20 + i) + bytes([0x65 if i == 0 else 0x41]) + b'\x88' * (19 + i)
        data += fmp4.fragment(i + 1, STAMP + i * PERIOD_S, duration, sample, i == 0)
    return data, fmp4.codec_string(avcc)


@pytest.mark.parametrize('cut', CUTS)
def test_mp4_init_then_frames_with_capture_stamps(cut):
    data, codecs = h264_stream(4)
    answer = parse('mp4', data, cut)
    units = answer['units']
    assert answer['error'] is None and answer['left'] == 0, answer
    assert b''.join(u['bytes'] for u in units) == data, 'the units do not add up to the stream'
    assert [u['bytes'][4:8] for u in units[:2]] == [b'ftyp', b'moov'], units[:2]
    assert units[1]['mime'] == 'video/mp4; codecs="%s"' % codecs == 'video/mp4; codecs="avc1.42C01F"', units[1]
    frames = units[2:]
    assert len(frames) == 4 and all(f['bytes'][4:8] == b'moof' for f in frames), [f['bytes'][:8] for f in frames]
    for i, frame in enumerate(frames):
        assert abs(frame['stamp'] - (STAMP + i * PERIOD_S)) < 1.0 / fmp4.TIMESCALE, (i, frame['stamp'])
        assert abs(frame['duration'] - PERIOD_S) < 1.0 / fmp4.TIMESCALE, (i, frame['duration'])


def trun_duration(fragment):
    """The first sample's duration in a one-frame fragment from fmp4.fragment (its trun flags 0x701)."""
    at = fragment.index(b'trun') - 4
    return struct.unpack('>I', fragment[at + 20:at + 24])[0]


def test_mp4_frame_lengthened_in_place():
    data, _ = h264_stream(2)
    frames = parse('mp4', data, 1 << 20, lengthen=0.1)['units'][2:]
    for frame in frames:
        assert trun_duration(frame['bytes']) == 9000 and abs(frame['duration'] - 0.1) < 1e-9, frame['duration']
    assert len(frames[0]['bytes']) == len(h264_stream(1)[0]) - len(h264_stream(0)[0]), 'the fragment changed size'


def test_mp4_bad_box_size_is_an_error():
    answer = parse('mp4', struct.pack('>I', 3) + b'moof' + b'\0' * 8, 100)
    assert answer['error'] == 'bad MP4 box size 3', answer


def vp8_stream(count):
    data = webm.init_segment('vp8', 640, 480, 1 / PERIOD_S)
    for i in range(count):
        data += webm.cluster(STAMP + i * PERIOD_S, bytes([i]) * (30 + i), i == 0)
    return data


def ebml_children(data):
    """[(id bytes, body)] of the EBML elements one after another in ``data`` (sizes of known length)."""
    children, at = [], 0
    while at < len(data):
        id_length = 1 + [data[at] & (0x80 >> n) != 0 for n in range(4)].index(True)
        size_length = 1 + [data[at + id_length] & (0x80 >> n) != 0 for n in range(8)].index(True)
        size = data[at + id_length] & (0xFF >> size_length)
        for byte in data[at + id_length + 1:at + id_length + size_length]:
            size = size * 256 + byte
        body = at + id_length + size_length
        children.append((data[at:at + id_length], data[body:body + size]))
        at = body + size
    return children


@pytest.mark.parametrize('cut', CUTS)
def test_webm_head_then_one_cluster_per_frame(cut):
    data = vp8_stream(3)
    answer = parse('webm', data, cut)
    units = answer['units']
    assert answer['error'] is None and answer['left'] == 0, answer
    assert b''.join(u['bytes'] for u in units) == data, 'the units do not add up to the stream'
    frames = [u for u in units if u['stamp'] is not None]
    assert len(frames) == 3 and len(units) == 7, [u['bytes'][:4] for u in units]  # EBML, Segment, Info, Tracks
    for i, frame in enumerate(frames):
        assert abs(frame['stamp'] - (STAMP + i * PERIOD_S)) <= 0.0005, (i, frame['stamp'])  # stamps in ms
        assert abs(frame['duration'] - PERIOD_S) < 1e-9, frame['duration']  # the track's DefaultDuration
        assert frame['bytes'][:4] == b'\x1f\x43\xb6\x75', frame['bytes'][:4]


def test_webm_frame_lengthened_into_a_block_group():
    """A lengthened Cluster keeps its Timecode and carries the frame in a BlockGroup with its
    duration, and a ReferenceBlock when it is not a keyframe."""
    frames = [u for u in parse('webm', vp8_stream(2), 1 << 20, lengthen=0.1)['units'] if u['stamp'] is not None]
    for i, frame in enumerate(frames):
        (cluster_id, cluster), = ebml_children(frame['bytes'])
        timecode, group = ebml_children(cluster)
        assert cluster_id == b'\x1f\x43\xb6\x75' and timecode[0] == b'\xe7' and group[0] == b'\xa0', (timecode, group)
        assert int.from_bytes(timecode[1], 'big') == webm.timestamp_ms(STAMP + i * PERIOD_S), timecode
        children = dict(ebml_children(group[1]))
        block = children[b'\xa1']
        assert block[4:] == bytes([i]) * (30 + i) and block[3] & 0x80 == 0, block[:4]  # no keyframe flag
        assert int.from_bytes(children[b'\x9b'], 'big') == 100, children  # ms
        assert (b'\xfb' in children) == (i > 0), sorted(children)
