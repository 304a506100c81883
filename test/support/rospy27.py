"""A real rospy for the Python 2.7 interpreter: Debian's ROS client libraries, loaded by 2.7.

No ROS for Python 2.7 can be installed here (Melodic is Ubuntu 18.04's). Debian 12's rospy,
rosgraph, genpy and the generated messages are ROS 1.15 (Noetic) sources, written to run on
Python 2 and 3 alike but for one line of Python-3-only syntax in rospy's TCPROS code, which
``make_rospy27`` rewrites to Melodic's form. Everything else is Debian's files as they are, so
the nodes under 2.7 talk real XML-RPC and TCPROS to a real (Python 3) master and peers.
"""
import os
import shutil

DIST_PACKAGES = '/usr/lib/python3/dist-packages'
# What rospy and the nodes import, found by running the nodes under 2.7 until nothing was missing.
PACKAGES = ('rospy', 'rosgraph', 'roslib', 'roscpp', 'genpy', 'genmsg', 'rospkg', 'catkin', 'catkin_pkg',
            'std_msgs', 'sensor_msgs', 'geometry_msgs', 'rosgraph_msgs')
# rospy/impl/tcpros_base.py: Python 3's starred unpacking; Melodic's line unpacks the first two.
PY3_ONLY = ('rospy/impl/tcpros_base.py', '(e_errno, msg, *_) = e.args', '(e_errno, msg) = e.args[:2]')


def make_rospy27(target):
    """Copies the ROS client packages into ``target`` (a folder for PY27_PATH) and rewrites the
    Python-3-only line; raises AssertionError, naming what changed, when Debian's files differ."""
    missing = [name for name in PACKAGES if not os.path.isdir(os.path.join(DIST_PACKAGES, name))]
    assert not missing, 'Debian ROS packages missing from %s: %s' % (DIST_PACKAGES, missing)
    for name in PACKAGES:
        shutil.copytree(os.path.join(DIST_PACKAGES, name), os.path.join(target, name),
                        ignore=shutil.ignore_patterns('__pycache__'))
    path, old, new = PY3_ONLY
    with open(os.path.join(target, path)) as source:
        text = source.read()
    assert text.count(old) == 1, '%s no longer holds %r once: review PY3_ONLY' % (path, old)
    with open(os.path.join(target, path), 'w') as source:
        source.write(text.replace(old, new))
    return target
