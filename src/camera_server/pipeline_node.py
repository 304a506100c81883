"""The camera and the built-in web server in one rospy node (server.launch pipeline:=one_process).

The capture thread hands each frame to the web server's fan-out in memory
(in_process_topics.InProcessTopics): no serialization, no copy, no ROS connection. The node still
publishes ``~image_raw``, ``~image_raw/compressed`` and ``~camera_info`` for other
subscribers, only while they have some; every other topic is served from ROS, as by the
web_server node. Parameters: the capture node's and the web server's, both private to this
node. Measured against the two nodes: see docs/benchmark.md.
"""
import rospy

from camera_server.capture_node import CaptureNode
from camera_server.capture_params import CAPTURE_PARAMS, read_capture_config
from camera_server.in_process_topics import InProcessTopics
from camera_server.ros_node import RosLog, configured, init_node, private_param, warn_unknown_parameters, watch_master
from camera_server.web_params import WEB_PARAMS
from camera_server.web_server_node import RosTopics, read_config, start_server


def main():
    signals = init_node('camera')
    rospy.loginfo('pipeline:=one_process: the camera and the built-in web server in one process; '
                  'the camera\'s frames reach the web server in memory')
    capture_config = configured(lambda: read_capture_config(private_param))
    address, port, web_config = read_config()
    topics = InProcessTopics(rospy.resolve_name('~image_raw'), rospy.resolve_name('~image_raw/compressed'),
                             capture_config['encoding'], RosTopics.subscribe, RosLog)
    node = configured(lambda: CaptureNode(capture_config, local=topics))
    node.log_parameters()
    warn_unknown_parameters(CAPTURE_PARAMS + WEB_PARAMS)
    start_server(address, port, web_config, topics.subscribe)
    watch_master()
    node.spin()
    signals.done()
