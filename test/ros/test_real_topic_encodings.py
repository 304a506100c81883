"""Every ROS encoding that only a real publisher shows: published by another rospy process
(topic_tool.py publish), received by the built-in server of server.launch, read as PNG."""
from camera_server import image_codec
from support.ci import require
from support.known_images import shown
from support.ros_master import stop
from support.stream_client import http_get
from support.waits import wait_until
from support.web_checks import read_png_frame, server_launch

REAL = ['bayer_rggb8', 'yuv422', '16UC1', '32FC1', 'rgba16']


def test_real_ros_topics_of_other_encodings():
    require(image_codec.cv_bridge() is not None, 'cv_bridge is not installed (Debian: python3-cv-bridge)')
    with server_launch(device='test') as launched:
        publisher = launched.helper('publish', *REAL)
        try:
            errors = {}
            for encoding in REAL:
                topic = '/known/' + encoding
                wait_until(lambda: topic.encode() in http_get(launched.port, '/')[2], 20, topic + ' listed')
                errors[encoding] = shown(read_png_frame(launched.port, topic), encoding)
        finally:
            stop(publisher)
    bad = dict((encoding, found) for encoding, found in errors.items() if found[0] > found[1])
    assert not bad and len(errors) == len(REAL), 'encodings off by (max error, tolerance): %s' % errors
