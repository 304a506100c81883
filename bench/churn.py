#!/usr/bin/python3
"""Viewers that keep connecting and leaving, for the web server's memory-flatness run.

--workers threads each loop until --seconds have passed (and at most
--max-cycles times): pick a request (an mjpeg or ros_compressed stream at a
few sizes and qualities, or a snapshot), read 1 to 20 frames, then close the
connection while the server is still streaming. Each distinct (size, quality)
makes the server build and later release an output, which is where leaks hide.
Writes one JSON line: cycles done, frames read, errors by kind.
"""
import argparse
import json
import random
import socket
import sys
import threading
import time
from urllib.request import urlopen

from client import read_stream

VARIANTS = ['type=mjpeg', 'type=mjpeg&quality=50', 'type=mjpeg&width=320',
            'type=mjpeg&width=640&quality=80', 'type=ros_compressed', 'snapshot']


def one_cycle(base, topic, rng):
    """One viewer's visit; returns frames read."""
    variant = rng.choice(VARIANTS)
    if variant == 'snapshot':
        with urlopen('%s/snapshot?topic=%s' % (base, topic), timeout=10) as reply:
            reply.read()
        return 1
    url = '%s/stream?topic=%s&%s' % (base, topic, variant)
    frames = 0
    now = time.time()
    stream = read_stream(url, end=now + 10, deadline=now + 15, max_frames=rng.randint(1, 20))
    for _ in stream:
        frames += 1
    return frames


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--base', required=True, help='http://127.0.0.1:PORT')
    parser.add_argument('--topic', default='/camera/image_raw')
    parser.add_argument('--seconds', type=float, required=True)
    parser.add_argument('--workers', type=int, default=4)
    parser.add_argument('--max-cycles', type=int, default=100000)
    args = parser.parse_args(argv)
    deadline = time.time() + args.seconds
    totals = {'cycles': 0, 'frames': 0, 'errors': {}}
    lock = threading.Lock()

    def worker(seed):
        rng = random.Random(seed)
        while time.time() < deadline:
            with lock:
                if totals['cycles'] >= args.max_cycles:
                    return
                totals['cycles'] += 1
            try:
                frames = one_cycle(args.base, args.topic, rng)
            except (IOError, OSError, ValueError, socket.timeout) as exc:
                frames = 0
                with lock:
                    kind = type(exc).__name__
                    totals['errors'][kind] = totals['errors'].get(kind, 0) + 1
            with lock:
                totals['frames'] += frames

    threads = [threading.Thread(target=worker, args=(seed,), name='churn-%d' % seed)
               for seed in range(args.workers)]
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.time()) + 20.0)
    sys.stdout.write(json.dumps(totals) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
