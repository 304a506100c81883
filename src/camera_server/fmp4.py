"""Fragmented MP4 for H.264: one init segment (ftyp + moov), then one moof + mdat per frame.

A fragment per frame is what lets a browser show each frame as it arrives; MP4 muxers
that cut fragments at keyframes hold a whole GOP. Timestamps are the capture stamps:
timescale 90000, tfdt (version 1, 64 bit) = round(stamp * 90000), so a page can compare
a frame's media time with the clock it was captured at. Pure byte packing, no I/O.
"""
import struct

TIMESCALE = 90000
# sample_flags of ISO/IEC 14496-12 8.8.3.1: a sync sample depends on nothing; another
# depends on earlier samples and is not a sync sample.
SYNC_SAMPLE_FLAGS = 0x02000000
NON_SYNC_SAMPLE_FLAGS = 0x01010000
UNITY_MATRIX = struct.pack('>9I', 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def box(kind, *payloads):
    body = b''.join(payloads)
    return struct.pack('>I', 8 + len(body)) + kind + body


def full_box(kind, version, flags, *payloads):
    return box(kind, struct.pack('>I', (version << 24) | flags), *payloads)


def media_time(stamp):
    """A capture stamp (seconds) in the MP4 timescale."""
    return int(round(stamp * TIMESCALE))


def avc_config(sps, pps):
    """The avcC box body (AVCDecoderConfigurationRecord) for one SPS and one PPS NAL unit."""
    return (b'\x01' + sps[1:4] + b'\xff' + struct.pack('>BH', 0xe1, len(sps)) + sps + struct.pack('>BH', 1, len(pps)) + pps)


def codec_string(avcc):
    """The RFC 6381 codecs value of an avcC body, e.g. avc1.42C01F (for MediaSource.isTypeSupported)."""
    return 'avc1.%02X%02X%02X' % struct.unpack('>BBB', avcc[1:4])


def init_segment(width, height, avcc):
    """ftyp + moov of a single H.264 video track of ``width`` x ``height``; ``avcc`` is the avcC body."""
    ftyp = box(b'ftyp', b'iso5', struct.pack('>I', 512), b'iso5iso6avc1mp41')
    mvhd = full_box(b'mvhd', 0, 0, struct.pack('>IIII', 0, 0, TIMESCALE, 0),
                    struct.pack('>IH10x', 0x10000, 0x100), UNITY_MATRIX, b'\0' * 24,
                    struct.pack('>I', 2))
    tkhd = full_box(b'tkhd', 0, 3, struct.pack('>IIIII', 0, 0, 1, 0, 0), b'\0' * 8,
                    struct.pack('>hhhH', 0, 0, 0, 0), UNITY_MATRIX,
                    struct.pack('>II', width << 16, height << 16))
    mdhd = full_box(b'mdhd', 0, 0, struct.pack('>IIIIHH', 0, 0, TIMESCALE, 0, 0x55c4, 0))
    hdlr = full_box(b'hdlr', 0, 0, struct.pack('>I', 0), b'vide', b'\0' * 12, b'camera_server\0')
    avc1 = box(b'avc1', b'\0' * 6, struct.pack('>H', 1), b'\0' * 16,
               struct.pack('>HHIIIH', width, height, 0x480000, 0x480000, 0, 1), b'\0' * 32,
               struct.pack('>Hh', 0x18, -1), box(b'avcC', avcc))
    stbl = box(b'stbl', full_box(b'stsd', 0, 0, struct.pack('>I', 1), avc1),
               full_box(b'stts', 0, 0, struct.pack('>I', 0)), full_box(b'stsc', 0, 0, struct.pack('>I', 0)),
               full_box(b'stsz', 0, 0, struct.pack('>II', 0, 0)), full_box(b'stco', 0, 0, struct.pack('>I', 0)))
    minf = box(b'minf', full_box(b'vmhd', 0, 1, b'\0' * 8),
               box(b'dinf', full_box(b'dref', 0, 0, struct.pack('>I', 1), full_box(b'url ', 0, 1))), stbl)
    trak = box(b'trak', tkhd, box(b'mdia', mdhd, hdlr, minf))
    mvex = box(b'mvex', full_box(b'trex', 0, 0, struct.pack('>IIIII', 1, 1, 0, 0, 0)))
    return ftyp + box(b'moov', mvhd, trak, mvex)


def fragment(sequence, stamp, duration, sample, keyframe):
    """moof + mdat carrying one frame: ``sample`` is its length-prefixed NAL units (AVCC form).

    ``duration`` (in the timescale) is the expected frame period: the next frame's tfdt is
    what players follow, so a late or early frame does not shift the timeline.
    """
    flags = SYNC_SAMPLE_FLAGS if keyframe else NON_SYNC_SAMPLE_FLAGS
    # tfhd: track 1, default-base-is-moof (offsets count from this moof).
    tfhd = full_box(b'tfhd', 0, 0x020000, struct.pack('>I', 1))
    tfdt = full_box(b'tfdt', 1, 0, struct.pack('>Q', media_time(stamp)))
    # trun: data offset, then per sample duration, size and flags.
    trun_size = 12 + 4 + 4 + 12
    moof_size = 8 + 16 + 8 + len(tfhd) + len(tfdt) + trun_size
    trun = full_box(b'trun', 0, 0x000701, struct.pack('>Ii', 1, moof_size + 8),
                    struct.pack('>III', duration, len(sample), flags))
    moof = box(b'moof', full_box(b'mfhd', 0, 0, struct.pack('>I', sequence)), box(b'traf', tfhd, tfdt, trun))
    return moof + struct.pack('>I', 8 + len(sample)) + b'mdat' + sample
