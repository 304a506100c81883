#!/usr/bin/python3
"""The benchmark's raw image consumer: a bare rospy subscriber to an Image topic.

It stands for a robot node that uses the raw pictures (what makes the capture
node decode). The callback only counts and notes the latency, so this process
costs little itself. On SIGTERM/SIGINT, or at --end, it writes one JSON line
with the frames, fps and latency received inside [--start, --end].
"""
import argparse
import json
import signal
import sys
import threading
import time

import rospy
from sensor_msgs.msg import CompressedImage, Image

from client import summarize


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--topic', default='/camera/image_raw')
    parser.add_argument('--start', type=float, default=0.0, help='window start, wall-clock s')
    parser.add_argument('--end', type=float, default=float('inf'), help='window end, wall-clock s')
    parser.add_argument('--fps', type=float, default=30.0, help='source rate, for dropped frames')
    parser.add_argument('--type', choices=['image', 'compressed'], default='image', help='message type')
    args = parser.parse_args(rospy.myargv(argv if argv is not None else sys.argv)[1:])
    frames = []  # (recv_time, stamp, size); appended by rospy's one receive thread for the topic
    done = threading.Event()

    def on_image(msg):
        recv_time = time.time()
        if args.start <= recv_time <= args.end:
            frames.append((recv_time, msg.header.stamp.to_sec(), len(msg.data)))
        elif recv_time > args.end:
            done.set()

    rospy.init_node('bench_raw_subscriber', anonymous=True, disable_signals=True)
    # buff_size above one frame: rospy's default 64 KB makes large images queue up and lag.
    msg_type = CompressedImage if args.type == 'compressed' else Image
    rospy.Subscriber(args.topic, msg_type, on_image, queue_size=1, buff_size=1 << 24, tcp_nodelay=True)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    while not done.wait(0.2) and time.time() < args.end + 1.0:
        pass  # bounded: ends one second after the window even when no frame comes
    end = min(args.end, time.time())
    result = summarize(list(frames), args.start, end, 1.0 / args.fps) if end > args.start else {}
    sys.stdout.write(json.dumps(result) + '\n')
    sys.stdout.flush()
    rospy.signal_shutdown('benchmark window over')
    return 0


if __name__ == '__main__':
    sys.exit(main())
