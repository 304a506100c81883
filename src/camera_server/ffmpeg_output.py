"""ffmpeg's output split into frames the moment each is encoded: FLV for H.264, IVF for VP8/VP9.

Both containers carry a length per frame, so a frame's end is known when it arrives (an
Annex-B stream would only show it when the next one starts). FLV's sequence header is the
avcC record and its frames are length-prefixed NAL units: exactly an MP4 sample. Pure
parsing of a byte stream, no processes.
"""
import struct

from camera_server import fmp4
from camera_server.compat import byte_at


def split_nal_units(data):
    """The NAL units of an Annex-B byte string (start codes removed)."""
    units, start = [], None
    index = data.find(b'\0\0\1')
    while index >= 0:
        if start is not None:
            units.append(data[start:index].rstrip(b'\0'))
        start = index + 3
        index = data.find(b'\0\0\1', start)
    if start is not None:
        units.append(data[start:])
    return [unit for unit in units if unit]


def length_prefixed_units(sample):
    """The NAL units of an MP4 sample (4-byte lengths)."""
    units, offset = [], 0
    while offset + 4 <= len(sample):
        (size,) = struct.unpack('>I', sample[offset:offset + 4])
        units.append(sample[offset + 4:offset + 4 + size])
        offset += 4 + size
    return units


def read_exact(stream, size):
    """``size`` bytes from ``stream``, or None at the end of the stream."""
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b''.join(chunks)


def vp8_keyframe(frame):
    return not byte_at(frame, 0) & 1


def vp9_keyframe(frame):
    """frame_type of the VP9 uncompressed header (profiles 0-3; show_existing_frame is not a keyframe)."""
    bits = byte_at(frame, 0)
    profile = ((bits >> 5) & 1) | (((bits >> 4) & 1) << 1)
    shift = 3 if profile < 3 else 2  # profile 3 has a reserved bit before show_existing_frame
    if (bits >> shift) & 1:
        return False
    return not (bits >> (shift - 1)) & 1


def mp4_sample(payload):
    """The MP4 sample (length-prefixed NAL units) of an FLV video payload; some hardware encoders
    give Annex-B (start codes) instead: a 1-byte NAL unit is not a thing."""
    if payload[:4] != b'\0\0\0\1':
        return payload
    return b''.join(struct.pack('>I', len(unit)) + unit for unit in split_nal_units(payload))


def in_band_avcc(sample):
    """The avcC record of the SPS and PPS in ``sample``, or None when it holds neither."""
    units = dict((byte_at(unit, 0) & 0x1f, unit) for unit in length_prefixed_units(sample) if unit)
    return fmp4.avc_config(units[7], units[8]) if 7 in units and 8 in units else None


def read_flv(stream, on_avcc, on_frame):
    """Reads H.264 FLV from ``stream`` to its end: ``on_avcc(record)`` for a sequence header,
    ``on_frame(seconds, sample, keyframe)`` for each frame."""
    if read_exact(stream, 13) is None:  # FLV header and the first PreviousTagSize
        return
    while True:
        head = read_exact(stream, 11)
        if head is None:
            return
        size = struct.unpack('>I', b'\0' + head[1:4])[0]
        millis = struct.unpack('>I', head[7:8] + head[4:7])[0]
        body = read_exact(stream, size + 4)
        if body is None:
            return
        if byte_at(head, 0) != 9 or size < 5 or byte_at(body, 0) & 0x0f != 7:
            continue  # not an AVC video tag (metadata)
        keyframe = byte_at(body, 0) >> 4 == 1
        packet_type, payload = byte_at(body, 1), body[5:size]
        if packet_type == 0:
            if len(payload) > 6:
                on_avcc(payload)
        elif packet_type == 1 and payload:
            on_frame(millis / 1000.0, mp4_sample(payload), keyframe)


def read_ivf(stream, codec, on_frame):
    """Reads VP8/VP9 IVF from ``stream`` to its end: ``on_frame(seconds, frame, keyframe)`` for each frame."""
    header = read_exact(stream, 32)
    if header is None:
        return
    denominator, numerator = struct.unpack('<II', header[16:24])
    keyframe_of = vp8_keyframe if codec == 'vp8' else vp9_keyframe
    while True:
        head = read_exact(stream, 12)
        if head is None:
            return
        size, pts = struct.unpack('<IQ', head)
        frame = read_exact(stream, size)
        if frame is None:
            return
        if frame:
            on_frame(pts * float(numerator) / max(1, denominator), frame, keyframe_of(frame))
