"""camera_server: a USB camera in any browser, over ROS 1.

Modules, one concern each (only the ``*_node`` modules import rospy):

- ``params``            read and validate the capture node's parameters
- ``sources``           frame sources: V4L2 device, video file, still image, URL, test pattern
- ``capture``           the capture thread (drain a source, reconnect) and the lazy renderer
- ``handoff``           the newest-wins slot of size one between threads; monotonic time
- ``camera_info``       calibration YAML load/save and package:// / file:// URLs
- ``image_codec``       numpy image <-> sensor_msgs field conversions and JPEG helpers
- ``turbojpeg``         libjpeg-turbo's TurboJPEG API through ctypes (fast JPEG, optional)
- ``capture_node``      the rospy glue of the capture node
- ``http_protocol``     request/query parsing and web_video_server's reply bytes
- ``fanout``            one subscription per topic, one decode per message, one encode per output
- ``stream_writer``     the one thread that writes every multipart stream
- ``liveness``          stale topics: reason, /health, /snapshot, a placeholder once a second
- ``placeholder``       the "no signal since HH:MM:SS" picture
- ``viewer``            the topic list and viewer pages
- ``web_server``        the threaded HTTP server
- ``web_server_node``   the rospy glue of the built-in web server
- ``server_choice``     server:=auto|web_video_server|builtin
- ``compat``            the few names that differ between Python 2.7 and 3
"""
