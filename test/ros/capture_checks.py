#!/usr/bin/env python
"""rostest checks of the capture node's topic contract, one TestCase per .test file.

In the file checks (CaptureCheck) the node reads ``~video``, a file that does not exist yet:
each check subscribes first, then writes the file, so no frame can be missed while
connections are set up. RateCheck watches test patterns that publish from the start.
"""
import io
import os
import re
import sys
import threading
import time
import unittest

import numpy as np
import rospy
import rostest
from camera_server.sources import TestPatternSource
from rosgraph_msgs.msg import Log
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # test/: support
from support.frames import read_index  # noqa: E402
from support.video_files import avi_jpeg_chunks, write_video  # noqa: E402
from support.waits import poll, wait_until  # noqa: E402

STATS = re.compile(r'statistics: ([\d.]+) fps published, (\d+) decoded')


class Recorder(object):
    """Keeps every message of one topic with the time it arrived."""

    def __init__(self, topic, kind):
        self.messages = []
        self.lock = threading.Lock()
        self.subscriber = rospy.Subscriber(topic, kind, self.callback, queue_size=1000,
                                           buff_size=2 ** 24)

    def callback(self, message):
        with self.lock:
            self.messages.append((time.time(), message))

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def wait_connected(self, timeout=20.0):
        wait_until(self.subscriber.get_num_connections, timeout, 'a publisher connected to ' + self.subscriber.name)

    def wait_count(self, count, timeout):
        poll(lambda: len(self.snapshot()) >= count, timeout)
        return self.snapshot()


def camera_log(recorder, level=None):
    """The /rosout lines of node /camera (optionally of one level) as (arrival, text)."""
    return [(arrived, m.msg) for arrived, m in recorder.snapshot()
            if m.name == '/camera' and (level is None or m.level == level)]


def write_atomically(path, count, fourcc):
    partial = path + '.partial.avi'
    frames = write_video(partial, count, fourcc=fourcc)
    os.rename(partial, path)
    return frames


class CaptureCheck(unittest.TestCase):
    def setUp(self):
        self.video = rospy.get_param('~video')
        self.log = Recorder('/rosout', Log)

    def tearDown(self):
        for path in (self.video, self.video + '.away'):
            if os.path.exists(path):
                os.remove(path)


class ContentCheck(CaptureCheck):
    COUNT = 45

    def test_file_comes_out_frame_for_frame(self):
        images = Recorder('/camera/image_raw', Image)
        infos = Recorder('/camera/camera_info', CameraInfo)
        images.wait_connected()
        infos.wait_connected()
        frames = write_atomically(self.video, self.COUNT, 'FFV1')
        got = images.wait_count(self.COUNT, timeout=20.0)
        time.sleep(0.5)  # anything extra (a repeated frame) would arrive now
        got = images.snapshot()
        self.assertEqual(len(got), self.COUNT, 'received %d images, the file has %d'
                         % (len(got), self.COUNT))
        stamps = []
        for index, (_, message) in enumerate(got):
            self.assertEqual((message.width, message.height, message.encoding, message.step),
                             (320, 240, 'bgr8', 960))
            self.assertEqual(message.header.frame_id, 'camera')
            pixels = np.frombuffer(message.data, np.uint8).reshape(240, 320, 3)
            self.assertEqual(read_index(pixels), index)
            differing = int(np.count_nonzero(pixels != frames[index]))
            self.assertEqual(differing, 0, 'frame %d: %d bytes differ from the file' % (index, differing))
            stamps.append(message.header.stamp.to_sec())
        gaps = np.diff(stamps)
        self.assertTrue(np.all(gaps > 0), 'stamps not increasing: %s' % gaps)
        # The file's own frame period, kept by the node's pacer on its clock (a median: one late
        # frame does not move it).
        period = 1 / 30.0
        self.assertTrue(0.75 * period < float(np.median(gaps)) < 1.35 * period,
                        'median stamp gap %.4f s for a 30 fps file (period %.4f s)' % (np.median(gaps), period))
        info_stamps = dict((m.header.stamp.to_sec(), m) for _, m in infos.wait_count(self.COUNT, 5.0))
        for stamp in stamps:
            self.assertIn(stamp, info_stamps, 'no camera_info with the stamp of image %.6f' % stamp)
            info = info_stamps[stamp]
            self.assertEqual((info.header.frame_id, info.width, info.height), ('camera', 320, 240))


class PassthroughCheck(CaptureCheck):
    COUNT = 30

    def test_compressed_carries_the_files_jpeg_bytes_without_decoding(self):
        compressed = Recorder('/camera/image_raw/compressed', CompressedImage)
        compressed.wait_connected()
        write_atomically(self.video, self.COUNT, 'MJPG')
        chunks = avi_jpeg_chunks(self.video)
        got = compressed.wait_count(self.COUNT, timeout=20.0)
        self.assertEqual(len(got), self.COUNT, 'received %d compressed frames' % len(got))
        for index, (_, message) in enumerate(got):
            self.assertEqual(message.format, 'jpeg')
            self.assertEqual(bytes(message.data), chunks[index],
                             'frame %d: %d bytes published, the file has %d'
                             % (index, len(message.data), len(chunks[index])))
        time.sleep(1.2)  # let a statistics line cover the playback
        stats = [STATS.search(text) for _, text in camera_log(self.log)]
        stats = [m for m in stats if m]
        self.assertTrue(any(float(m.group(1)) > 0 for m in stats), 'no statistics while playing')
        decoded = sum(int(m.group(2)) for m in stats)
        self.assertEqual(decoded, 0, 'the node decoded %d frames with only compressed subscribers'
                         % decoded)


class FaultCheck(CaptureCheck):
    def test_removed_file_is_reported_once_and_playback_resumes(self):
        images = Recorder('/camera/image_raw', Image)
        images.wait_connected()
        write_atomically(self.video, 10, 'MJPG')
        self.assertGreaterEqual(len(images.wait_count(15, timeout=20.0)), 15, 'frames never flowed')
        removed_at = time.time()
        os.rename(self.video, self.video + '.away')

        def since_removal(level):
            return [(arrived, text) for arrived, text in camera_log(self.log, level)
                    if arrived > removed_at]
        poll(lambda: since_removal(Log.WARN), 10.0)
        warnings = since_removal(Log.WARN)
        self.assertEqual(len(warnings), 1, 'warnings: %s' % warnings)
        reported_at = warnings[0][0]
        self.assertIn('does not exist', warnings[0][1])
        self.assertIn('retrying every 0.2 s', warnings[0][1])
        time.sleep(2.0)  # about ten retries
        restored_at = time.time()
        during_outage = [arrived for arrived, _ in images.snapshot()
                         if reported_at + 0.2 < arrived < restored_at]
        self.assertEqual(during_outage, [], '%d frames published while the file was missing '
                         '(reported at %.3f, arrivals %s)' % (len(during_outage), reported_at,
                                                              during_outage[:5]))
        os.rename(self.video + '.away', self.video)
        before = len(images.snapshot())
        after = images.wait_count(before + 10, timeout=10.0)[before:]
        self.assertGreaterEqual(len(after), 10, 'only %d frames after the file came back' % len(after))
        self.assertGreater(after[0][1].header.stamp.to_sec(), restored_at - 0.05,
                           'first frame after the outage carries an old stamp')
        stamps = [m.header.stamp.to_sec() for _, m in images.snapshot()]
        self.assertTrue(all(b > a for a, b in zip(stamps, stamps[1:])), 'stamps went backwards')
        self.assertEqual(len(since_removal(Log.WARN)), 1, 'the outage was logged more than once')
        back = [text for _, text in since_removal(Log.INFO) if 'camera is back' in text]
        self.assertEqual(len(back), 1, 'recovery lines: %s' % back)


def drawing_rate(width, height, frames=30):
    """Test pattern frames per second this machine draws and serializes as Image messages unpaced,
    now: the most the node can publish of a paced one."""
    source = TestPatternSource(width, height, 1e6)
    source.open()
    started = time.time()
    for _ in range(frames):
        image = source.read().image
        Image(height=height, width=width, encoding='bgr8', step=3 * width, data=image.tobytes()).serialize(io.BytesIO())
    return frames / (time.time() - started)


class RateCheck(unittest.TestCase):
    """Each ``~topics`` test pattern arrives at the rate its node publishes, and that rate is
    ``~fps`` unless drawing the pattern is slower on this machine.

    Both rates come from the same window: the published one from the messages' own sequence
    numbers (rospy counts every message published) over their capture stamps, the received one
    from their arrivals here. So a slower or busier machine changes the figures, not the verdict.
    """
    SECONDS = 8.0

    def test_topics_arrive_at_the_published_rate(self):
        fps = float(rospy.get_param('~fps'))
        recorders = [Recorder(topic, Image) for topic in rospy.get_param('~topics').split()]
        for recorder in recorders:
            recorder.wait_connected()
            self.assertTrue(recorder.wait_count(1, timeout=20.0), 'nothing on %s' % recorder.subscriber.name)
        started = time.time()
        time.sleep(self.SECONDS)
        for recorder in recorders:
            got = [(arrived, message) for arrived, message in recorder.snapshot() if arrived > started]
            first, last = got[0][1], got[-1][1]
            published = (last.header.seq - first.header.seq) / (last.header.stamp - first.header.stamp).to_sec()
            received = (len(got) - 1) / (got[-1][0] - got[0][0])
            drawing = drawing_rate(last.width, last.height)
            figures = '%s: %d of %d messages published in %.0f s arrived; published %.2f Hz, received %.2f Hz, ' \
                '~fps %g, drawing and serializing alone %.0f frames/s here' % (
                    recorder.subscriber.name, len(got), last.header.seq - first.header.seq + 1, self.SECONDS,
                    published, received, fps, drawing)
            print(figures)
            # The node's pacer runs on its own clock and never publishes faster than ~fps.
            self.assertLessEqual(published, 1.02 * fps, figures)
            # It keeps ~fps unless drawing alone is slower here (then it publishes what it draws).
            self.assertGreaterEqual(published, 0.9 * min(fps, drawing), figures)
            # End to end: what was published arrived here at the rate it was published.
            self.assertLess(abs(received - published), 0.1 * published, figures)


if __name__ == '__main__':
    rospy.init_node('capture_checks')
    name = rospy.myargv()[1]
    rostest.rosrun('camera_server', name, globals()[name])
