#!/usr/bin/python3
"""The encoder floor: the same ffmpeg command the server runs, fed the same frames, alone.

Decodes the benchmark's MJPG file once, then writes its frames (I420, as the server does)
into ``ffmpeg`` at --fps for --seconds, reading and discarding the output. The benchmark
measures this ffmpeg's CPU next to the server's encoder on the same frames. A write blocks
while ffmpeg is behind, so the frames written per second are the rate it kept; printed
as one JSON line at the end.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'src'))

from camera_server.url_api import VideoSettings  # noqa: E402
from camera_server.ffmpeg_probe import ENCODERS  # noqa: E402
from camera_server.video_encoder import ffmpeg_command, i420  # noqa: E402
from camera_server.video_output import default_bitrate  # noqa: E402
from sources import first_frames  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--file', required=True)
    parser.add_argument('--codec', choices=['h264', 'vp8', 'vp9'], default='h264')
    parser.add_argument('--fps', type=int, default=30)
    parser.add_argument('--seconds', type=float, required=True)
    args = parser.parse_args(argv)
    frames = first_frames(args.file, 120)
    height, width = frames[0].shape[:2]
    planes = [i420(frame) for frame in frames]
    settings = VideoSettings(args.codec, default_bitrate(width, height), args.fps, None, None, 'ultrafast',
                             'realtime')
    encoder = ENCODERS.get(args.codec, 'libx264')
    proc = subprocess.Popen(ffmpeg_command('ffmpeg', args.codec, encoder, width, height, args.fps, settings),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    drain = threading.Thread(target=lambda: [None for _ in iter(lambda: proc.stdout.read(65536), b'')])
    drain.daemon = True
    drain.start()
    began = time.time()
    index = 0
    while time.time() - began < args.seconds:
        proc.stdin.write(planes[index % len(planes)])
        index += 1
        time.sleep(max(0.0, began + index / float(args.fps) - time.time()))
    seconds = time.time() - began
    proc.stdin.close()
    proc.wait()
    sys.stdout.write(json.dumps({'frames': index, 'seconds': seconds, 'fps': index / seconds}) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
