#!/usr/bin/python3
"""One soak viewer: stays on the stream for the whole run, or visits it again and again (--churn).

Frames are judged outside the source's scheduled drops only (--drop-* describe them; the
soak moves the camera's file away then). Per --bucket seconds it appends one JSON line to
--out: the X-Timestamps received (ms since --t0), frames expected from the source's period
(received plus the gaps in the stamp sequence), latency median and p95 (X-Timestamp to last
byte, ms), the visits (first and last stamp) and errors. Gaps are counted inside one visit
only: a churning viewer's time away is not a loss. soak.py compares the stamps with those
every other viewer got.
"""
import argparse
import json
import random
import sys
import time

from client import percentile, read_stream


class Schedule(object):
    """The source's drops: ``count`` of ``seconds`` each, every ``period`` s from t0 + ``period``,
    each judged over from ``margin`` s before to ``margin`` s after (the file loop may delay the
    start of a drop; the capture node and the server need a moment to resume)."""

    def __init__(self, t0, period, seconds, margin, end):
        self.windows = []
        start = t0 + period
        while period > 0 and start < end:
            self.windows.append((start - margin, start + seconds + margin))
            start += period

    def inside(self, when):
        return any(low <= when <= high for low, high in self.windows)


class Bucket(object):
    def __init__(self, index):
        self.index, self.frames, self.expected, self.errors = index, 0, 0, []
        self.latencies, self.stamps, self.visits = [], [], []

    def line(self):
        ordered = sorted(self.latencies)
        return {'bucket': self.index, 'frames': self.frames, 'expected': self.expected,
                'latency_ms_median': percentile(ordered, 0.5), 'latency_ms_p95': percentile(ordered, 0.95),
                'stamps_ms': self.stamps, 'visits': self.visits, 'errors': self.errors}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--url', required=True, help='a /stream URL; --alt-url is used on every other visit')
    parser.add_argument('--alt-url')
    parser.add_argument('--t0', type=float, required=True, help='run start, wall-clock s')
    parser.add_argument('--end', type=float, required=True, help='run end, wall-clock s')
    parser.add_argument('--bucket', type=float, default=10.0)
    parser.add_argument('--fps', type=float, default=30.0)
    parser.add_argument('--churn', type=float, nargs=2, metavar=('MIN_S', 'MAX_S'),
                        help='leave after a random stay in [MIN_S, MAX_S] and come back at once')
    parser.add_argument('--drop-period', type=float, default=0.0)
    parser.add_argument('--drop-seconds', type=float, default=0.0)
    parser.add_argument('--drop-margin', type=float, default=6.0)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', required=True)
    args = parser.parse_args(argv)
    drops = Schedule(args.t0, args.drop_period, args.drop_seconds, args.drop_margin, args.end)
    period = 1.0 / args.fps
    rng = random.Random(args.seed)
    buckets = {}
    out = open(args.out, 'a')

    def bucket_at(when):
        index = int((when - args.t0) // args.bucket)
        for old in sorted(i for i in buckets if i < index):  # finished: write it out
            out.write(json.dumps(buckets.pop(old).line()) + '\n')
            out.flush()
        if index not in buckets:
            buckets[index] = Bucket(index)
        return buckets[index]

    visit = 0
    while time.time() < args.end:
        stay = rng.uniform(*args.churn) if args.churn else args.end - time.time()
        url = args.alt_url if args.alt_url and visit % 2 else args.url
        visit += 1
        previous = None
        span = []  # first and last stamp judged in this visit (ms since t0)
        try:
            for recv_time, stamp, _ in read_stream(url, end=min(args.end, time.time() + stay),
                                                   deadline=args.end + 30):
                bucket = bucket_at(recv_time)
                if drops.inside(recv_time) or drops.inside(stamp):
                    previous = None  # judged again from the first frame after the drop
                    if span:
                        bucket.visits.append(span)
                        span = []
                    continue
                bucket.frames += 1
                bucket.expected += 1
                bucket.latencies.append(1000.0 * (recv_time - stamp))
                stamp_ms = int(round(1000.0 * (stamp - args.t0)))
                bucket.stamps.append(stamp_ms)
                span = [span[0] if span else stamp_ms, stamp_ms]
                if previous is not None:
                    bucket.expected += max(0, int(round((stamp - previous) / period)) - 1)
                previous = stamp
        except (IOError, OSError, ValueError, KeyError) as exc:
            bucket_at(time.time()).errors.append('%s: %s' % (type(exc).__name__, exc))
            time.sleep(0.5)
        if span:
            bucket_at(time.time()).visits.append(span)
    for index in sorted(buckets):
        out.write(json.dumps(buckets[index].line()) + '\n')
    out.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
