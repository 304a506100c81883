#!/usr/bin/python3
"""The floors the benchmark compares with, each a bare loop at the source rate.

- ``decode``: read and decode the MJPG file with cv2.VideoCapture, one frame
  per period, rewinding at the end (what a capture node that decodes must pay);
- ``encode``: one cv2.imencode per period at the given JPEG quality, on the
  file's own decoded frames (what a server that encodes once per frame must pay);
- ``publish_jpeg`` / ``publish_raw``: a bare rospy publisher (queue_size=1, like
  the capture node) sending the file's JPEG frames as CompressedImage, or its
  decoded frames as bgr8 Image, to one subscriber (run_bench.py starts it): what
  rospy's TCPROS alone costs, with no capture, decode or encode. Not a target of
  issue 5; it says how much of the capture node's CPU no capture design can remove.

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


SUBSCRIBER_CONNECTED = 'floors: subscriber connected'


def publish_loop(path, fps, seconds, raw):
    """Publish the file's frames with rospy at ``fps`` once a subscriber is connected."""
    import rospy
    from sensor_msgs.msg import CompressedImage, Image
    from std_msgs.msg import Header
    frames = first_frames(path, 30)
    if raw:
        payloads = [frame.tobytes() for frame in frames]
    else:
        payloads = [cv2.imencode('.jpg', frame, [int(cv2.IMWRITE_JPEG_QUALITY), 80])[1].tobytes()
                    for frame in frames]
    height, width = frames[0].shape[:2]
    rospy.init_node('bench_floor_publisher', anonymous=True, disable_signals=True)
    topic, msg_type = ('/bench_floor/image_raw', Image) if raw else ('/bench_floor/compressed', CompressedImage)
    publisher = rospy.Publisher(topic, msg_type, queue_size=1)
    deadline = time.time() + 20.0
    while publisher.get_num_connections() == 0:
        if time.time() > deadline:
            raise RuntimeError('no subscriber on %s' % topic)
        time.sleep(0.05)
    print(SUBSCRIBER_CONNECTED)  # run_bench.py measures from here: the subscriber may start slowly
    sys.stdout.flush()
    for index in paced(fps, seconds):
        header = Header(stamp=rospy.Time.from_sec(time.time()), frame_id='camera')
        data = payloads[index % len(payloads)]
        if raw:
            publisher.publish(Image(header=header, height=height, width=width, encoding='bgr8',
                                    is_bigendian=0, step=width * 3, data=data))
        else:
            publisher.publish(CompressedImage(header=header, format='jpeg', data=data))
    rospy.signal_shutdown('floor done')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('kind', choices=['decode', 'encode', 'publish_jpeg', 'publish_raw'])
    parser.add_argument('--file', required=True, help='the MJPG file the benchmark plays')
    parser.add_argument('--fps', type=float, default=30.0)
    parser.add_argument('--seconds', type=float, required=True)
    parser.add_argument('--quality', type=int, default=95, help='JPEG quality (encode)')
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)  # a floor is one core's work, like one node's encode
    if args.kind == 'decode':
        decode_loop(args.file, args.fps, args.seconds)
    elif args.kind.startswith('publish_'):
        publish_loop(args.file, args.fps, args.seconds, raw=args.kind == 'publish_raw')
    else:
        encode_loop(args.file, args.fps, args.seconds, args.quality)
    return 0


if __name__ == '__main__':
    sys.exit(main())
