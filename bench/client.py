#!/usr/bin/python3
"""One benchmark viewer: reads an MJPEG multipart stream and times every frame.

For each frame it notes when the last byte arrived and the frame's
``X-Timestamp`` (the image's header.stamp); frames completed inside the
measuring window [--start, --end] (wall-clock seconds, the same clock the
capture node stamps with) count. At --end it writes one JSON line:
frames, fps, latency median/p95/max in ms, frames dropped (gaps in the stamp
sequence, in source frame periods), repeats, bytes, and any error.

Run as its own process, one per client, so clients do not share a GIL with
each other or with the server.
"""
import argparse
import json
import socket
import sys
import time
from urllib.parse import urlsplit

BOUNDARY_PREFIX = b'--'
READ_BUFFER = 1 << 16


def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an already sorted list (None when empty)."""
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


def summarize(frames, start, end, period):
    """Figures of the frames (recv_time, stamp, size) received inside [start, end]."""
    inside = [f for f in frames if start <= f[0] <= end]
    latencies = sorted(1000.0 * (recv - stamp) for recv, stamp, _ in inside)
    dropped = repeats = 0
    for (_, previous, _), (_, stamp, _) in zip(inside, inside[1:]):
        gap = int(round((stamp - previous) / period))
        if gap <= 0:
            repeats += 1
        dropped += max(0, gap - 1)
    return {
        'frames': len(inside),
        'fps': len(inside) / (end - start),
        'latency_ms_median': percentile(latencies, 0.5),
        'latency_ms_p95': percentile(latencies, 0.95),
        'latency_ms_max': latencies[-1] if latencies else None,
        'dropped': dropped,
        'repeats': repeats,
        'bytes': sum(size for _, _, size in inside),
    }


def read_stream(url, end, deadline, max_frames=None):
    """Yield (recv_time, stamp, size) for each part of the multipart stream at ``url``.

    Stops at wall time ``end`` (checked after each frame), after ``max_frames``,
    or raises socket.timeout when nothing arrives for a while; the socket
    timeout keeps every read bounded by ``deadline``.
    """
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port or 80),
                                    timeout=max(1.0, deadline - time.time()))
    try:
        target = parts.path + ('?' + parts.query if parts.query else '')
        sock.sendall(('GET %s HTTP/1.1\r\nHost: %s\r\n\r\n' % (target, parts.netloc)).encode('ascii'))
        stream = sock.makefile('rb', buffering=READ_BUFFER)
        status = stream.readline()
        if b' 200 ' not in status:
            raise IOError('status line %r' % status.strip())
        while stream.readline() not in (b'\r\n', b'\n', b''):
            pass  # response headers
        count = 0
        headers = {}
        while time.time() < end and (max_frames is None or count < max_frames):
            line = stream.readline()
            if not line:
                raise IOError('stream closed by the server after %d frames' % count)
            line = line.rstrip(b'\r\n')
            if line.startswith(BOUNDARY_PREFIX) or (not line and not headers):
                continue
            if line:
                name, _, value = line.partition(b':')
                headers[name.strip().lower()] = value.strip()
                continue
            size = int(headers[b'content-length'])
            body = stream.read(size)
            recv_time = time.time()
            if len(body) != size:
                raise IOError('frame %d cut short: %d of %d bytes' % (count, len(body), size))
            stamp = float(headers.get(b'x-timestamp', b'nan'))
            headers = {}
            count += 1
            yield recv_time, stamp, size
    finally:
        sock.close()


LINGER_S = 1.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', required=True)
    parser.add_argument('--start', type=float, required=True, help='window start, wall-clock s')
    parser.add_argument('--end', type=float, required=True, help='window end, wall-clock s')
    parser.add_argument('--fps', type=float, default=30.0, help='source rate, for dropped frames')
    args = parser.parse_args(argv)
    frames, error = [], None
    try:
        # Connected a little past --end: run_bench.py reads /health at the window's end, and the
        # server drops a topic's counters as soon as its last viewer has gone.
        for frame in read_stream(args.url, args.end + LINGER_S, deadline=args.end + LINGER_S + 5.0):
            frames.append(frame)
    except (IOError, OSError, ValueError, KeyError) as exc:
        error = '%s: %s' % (type(exc).__name__, exc)
    result = summarize(frames, args.start, args.end, 1.0 / args.fps)
    result['error'] = error
    result['frames_total'] = len(frames)
    sys.stdout.write(json.dumps(result) + '\n')
    return 0 if error is None else 1


if __name__ == '__main__':
    sys.exit(main())
