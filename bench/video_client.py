#!/usr/bin/python3
"""One benchmark viewer of a video stream (type=h264 fragmented MP4, vp8/vp9 WebM).

Parses the container as it arrives and notes, for every frame, when its last byte came
and its presentation time, which the server sets to the capture stamp (fMP4: tfdt / 90000,
WebM: Cluster Timecode / 1000). Frames completed inside [--start, --end] count. At --end it
writes one JSON line: frames, fps, latency median/p95/max in ms, bytes per second,
keyframes, the time from connecting to the first whole frame (first picture), any error.
With --save, the stream's first --save-frames frames are written to a file for decoding.
"""
import argparse
import json
import socket
import struct
import sys
import time
from urllib.parse import urlsplit

from client import percentile

CLUSTER, SEGMENT, TIMECODE, SIMPLE_BLOCK = 0x1f43b675, 0x18538067, 0xe7, 0xa3


class Reader(object):
    """Exact reads from a socket, keeping a copy of what was read while ``keep`` is set."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b''
        self.kept = []
        self.keep = False

    def read(self, size):
        while len(self.buffer) < size:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise IOError('stream closed by the server')
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        if self.keep:
            self.kept.append(data)
        return data


def vint(reader, keep_marker):
    first = ord(reader.read(1))
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    value = first if keep_marker else first & (0xff >> length)
    for byte in bytearray(reader.read(length - 1)):
        value = (value << 8) | byte
    return value


def mp4_frames(reader):
    """Yield (stamp, bytes, keyframe) per moof+mdat pair."""
    stamp = keyframe = None
    size_moof = 0
    while True:
        size, kind = struct.unpack('>I4s', reader.read(8))
        body = reader.read(size - 8)
        if kind == b'moof':
            tfdt = body.index(b'tfdt')
            stamp = struct.unpack('>Q', body[tfdt + 8:tfdt + 16])[0] / 90000.0
            trun = body.index(b'trun')
            keyframe = struct.unpack('>I', body[trun + 24:trun + 28])[0] == 0x02000000
            size_moof = size
        elif kind == b'mdat' and stamp is not None:
            yield stamp, size_moof + size, keyframe


def webm_frames(reader):
    """Yield (stamp, bytes, keyframe) per Cluster (one frame each)."""
    while True:
        element = vint(reader, True)
        size = vint(reader, False)
        if element == SEGMENT:
            continue  # unknown size: its children follow
        body = reader.read(size)
        if element != CLUSTER:
            continue
        stamp, keyframe, offset = None, False, 0
        while offset < len(body):
            sub = Reader(None)
            sub.buffer = body[offset:]
            child, length = vint(sub, True), vint(sub, False)
            start = len(body) - len(sub.buffer)
            data = body[start:start + length]
            if child == TIMECODE:
                stamp = int.from_bytes(data, 'big') / 1000.0
            elif child == SIMPLE_BLOCK:
                keyframe = bool(data[3] & 0x80)
            offset = start + length
        yield stamp, size, keyframe


def read_video(url, end, save=None, save_frames=0):
    """Yield (recv_time, stamp, size, keyframe) per frame until wall time ``end``."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=10.0)
    try:
        sock.sendall(('GET %s?%s HTTP/1.0\r\n\r\n' % (parts.path, parts.query)).encode('ascii'))
        reader = Reader(sock)
        head = b''
        while not head.endswith(b'\r\n\r\n'):
            head += reader.read(1)
        if b' 200 ' not in head.split(b'\r\n')[0]:
            raise IOError('status line %r' % head.split(b'\r\n')[0])
        reader.keep = bool(save)
        frames = mp4_frames(reader) if b'video/mp4' in head else webm_frames(reader)
        count = 0
        for stamp, size, keyframe in frames:
            count += 1
            if save and count == save_frames:
                with open(save, 'wb') as out:
                    out.write(b''.join(reader.kept))
                reader.keep, reader.kept = False, []
            yield time.time(), stamp, size, keyframe
            if time.time() >= end:
                return
    finally:
        sock.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', required=True)
    parser.add_argument('--start', type=float, required=True, help='window start, wall-clock s')
    parser.add_argument('--end', type=float, required=True, help='window end, wall-clock s')
    parser.add_argument('--save', help='write the stream bytes of the first --save-frames frames here')
    parser.add_argument('--save-frames', type=int, default=90)
    args = parser.parse_args(argv)
    frames, error, connected = [], None, time.time()
    try:
        for frame in read_video(args.url, args.end + 1.0, args.save, args.save_frames):
            frames.append(frame)
    except (IOError, OSError, ValueError) as exc:
        error = '%s: %s' % (type(exc).__name__, exc)
    inside = [f for f in frames if args.start <= f[0] <= args.end]
    latencies = sorted(1000.0 * (recv - stamp) for recv, stamp, _, _ in inside)
    window = args.end - args.start
    result = {'frames': len(inside), 'fps': len(inside) / window,
              'latency_ms_median': percentile(latencies, 0.5), 'latency_ms_p95': percentile(latencies, 0.95),
              'latency_ms_max': latencies[-1] if latencies else None,
              'bytes_per_s': sum(size for _, _, size, _ in inside) / window,
              'keyframes': sum(1 for f in inside if f[3]),
              'first_picture_s': frames[0][0] - connected if frames else None,
              'first_is_keyframe': frames[0][3] if frames else None,
              'frames_total': len(frames), 'error': error}
    sys.stdout.write(json.dumps(result) + '\n')
    return 0 if error is None else 1


if __name__ == '__main__':
    sys.exit(main())
