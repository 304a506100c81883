"""camera_server: a USB camera in any browser, over ROS 1.

One module per concern, in layers that follow a frame from the camera to the browser;
a module imports only from layers below its own, and only the ``*_node`` modules import
rospy. docs/design.md draws the layers and says which module does what;
test/unit/test_layers.py holds the declared order and checks every import against it.
"""
