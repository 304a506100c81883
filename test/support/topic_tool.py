#!/usr/bin/env python3
"""ROS side of the web server integration tests, run as its own process (one rospy node per process).

    topic_tool.py record TOPIC SECONDS OUTDIR   save every CompressedImage as OUTDIR/<stamp>.bin
    topic_tool.py advertise TOPIC               advertise a sensor_msgs/Image that never publishes
    topic_tool.py publish ENCODING ...          publish known_images' picture of each on /known/ENCODING at 10 Hz
"""
import os
import sys
import time

import rospy
from sensor_msgs.msg import CompressedImage, Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # test/: support


def record(topic, seconds, outdir):
    def save(msg):
        with open(os.path.join(outdir, '%.06f.bin' % msg.header.stamp.to_sec()), 'wb') as handle:
            handle.write(msg.data)
    rospy.Subscriber(topic, CompressedImage, save, queue_size=100)
    deadline = time.time() + seconds
    while time.time() < deadline and not rospy.is_shutdown():
        time.sleep(0.05)


def publish(encodings):
    from support.known_images import message_fields
    publishers = dict((encoding, rospy.Publisher('/known/' + encoding, Image, queue_size=1))
                      for encoding in encodings)
    rate = rospy.Rate(10)
    while not rospy.is_shutdown():
        for encoding, publisher in publishers.items():
            name, height, width, step, data, big_endian = message_fields(encoding)
            publisher.publish(Image(encoding=name, height=height, width=width, step=step, data=data,
                                    is_bigendian=big_endian))
        rate.sleep()


def main():
    command, topic = sys.argv[1], sys.argv[2]
    rospy.init_node('topic_tool', anonymous=True)
    if command == 'record':
        record(topic, float(sys.argv[3]), sys.argv[4])
    elif command == 'publish':
        publish(sys.argv[2:])
    elif command == 'advertise':
        rospy.Publisher(topic, Image, queue_size=1)
        rospy.spin()
    else:
        sys.exit('unknown command %r: record, advertise or publish' % command)


if __name__ == '__main__':
    main()
