"""The ROS image messages the web server reads, as plain values: no rospy here.

web_server_node turns each sensor_msgs message into one of these, so the fan-out, the
renderer and the tests work without ROS.
"""
from collections import namedtuple

from camera_server.image_codec import jpeg_size

IMAGE_TYPE = 'sensor_msgs/Image'
COMPRESSED_TYPE = 'sensor_msgs/CompressedImage'
CAMERA_INFO_TYPE = 'sensor_msgs/CameraInfo'

# A sensor_msgs/Image (stamp in seconds).
ImageMessage = namedtuple('ImageMessage', 'stamp encoding height width step data is_bigendian')
# A sensor_msgs/CompressedImage (stamp in seconds).
CompressedMessage = namedtuple('CompressedMessage', 'stamp format data')


def message_size(message):
    """(width, height) of an ImageMessage or a JPEG CompressedMessage; None when unknown (no message, PNG)."""
    if isinstance(message, ImageMessage):
        return message.width, message.height
    if message is not None:
        return jpeg_size(message.data)
    return None


def header_seconds(stamp):
    """``stamp`` as a message header carries it (whole nanoseconds, rounded as rospy.Time.from_sec
    does), without building the Time: the in-process frames and the ROS ones then have the same stamp."""
    secs = int(stamp)
    return float(secs) + float(int((stamp - secs) * 1000000000)) / 1e9
