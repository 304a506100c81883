"""camera_server: a USB camera in any browser, over ROS 1.

Modules, one concern each (only the ``*_node`` modules import rospy):

- ``params``       read and validate the capture node's parameters
- ``sources``      frame sources: V4L2 device, video file, still image, URL, test pattern
- ``capture``      the capture thread: drain a source, keep the newest frame, reconnect
- ``camera_info``  calibration YAML load/save and package:// / file:// URLs
- ``image_codec``  numpy image <-> sensor_msgs field conversions and JPEG helpers
- ``capture_node`` the rospy glue of the capture node
"""
