#!/usr/bin/python3
"""The floors the benchmark compares with, each a bare OpenCV loop at the source rate.

- ``decode``: read and decode the MJPG file with cv2.VideoCapture, one frame
  per period, rewinding at the end (what a capture node that decodes must pay);
- ``encode``: one cv2.imencode per period at the given JPEG quality, on the
  file's own decoded frames (what a server that encodes once per frame must pay).

Run as its own process for --seconds; run_bench.py measures its CPU from /proc
exactly as it measures the nodes.
"""
import argparse
import sys
import time

import cv2

from sources import first_frames


def paced(fps, seconds):
    """Yield frame indices at ``fps`` for ``seconds``, sleeping between them."""
    period = 1.0 / fps
    start = time.time()
    for index in range(int(seconds * fps)):
        delay = start + index * period - time.time()
        if delay > 0:
            time.sleep(delay)
        yield index


def decode_loop(path, fps, seconds):
    capture = cv2.VideoCapture(path)
    for _ in paced(fps, seconds):
        ok, _img = capture.read()
        if not ok:  # end of file: rewind, as the capture node loops the file
            capture.release()
            capture = cv2.VideoCapture(path)
            ok, _img = capture.read()
            if not ok:
                raise RuntimeError('cannot read %s' % path)
    capture.release()


def encode_loop(path, fps, seconds, quality):
    frames = first_frames(path, 30)
    params = [int(cv2.IMWRITE_JPEG_QUALITY), quality]
    for index in paced(fps, seconds):
        ok, _buf = cv2.imencode('.jpg', frames[index % len(frames)], params)
        if not ok:
            raise RuntimeError('cv2.imencode failed')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('kind', choices=['decode', 'encode'])
    parser.add_argument('--file', required=True, help='the MJPG file the benchmark plays')
    parser.add_argument('--fps', type=float, default=30.0)
    parser.add_argument('--seconds', type=float, required=True)
    parser.add_argument('--quality', type=int, default=95, help='JPEG quality (encode)')
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)  # a floor is one core's work, like one node's encode
    if args.kind == 'decode':
        decode_loop(args.file, args.fps, args.seconds)
    else:
        encode_loop(args.file, args.fps, args.seconds, args.quality)
    return 0


if __name__ == '__main__':
    sys.exit(main())
