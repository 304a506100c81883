"""The real capture node loads its calibration URL, and set_camera_info saves to it."""
import shutil
import subprocess
import textwrap

from support.calibration import YAML
from support.ci import require
from support.ros_master import ROS_PYTHON, free_port, ros_env, start, stop, wait_for_port

CLIENT = textwrap.dedent('''
    import sys, rospy
    from sensor_msgs.msg import CameraInfo
    from sensor_msgs.srv import SetCameraInfo
    rospy.init_node('calibrator')
    before = rospy.wait_for_message('/camera/camera_info', CameraInfo, timeout=20)
    print('before K0=%g size=%dx%d frame=%s' % (before.K[0], before.width, before.height, before.header.frame_id))
    rospy.wait_for_service('/camera/set_camera_info', timeout=20)
    info = CameraInfo(width=640, height=480, distortion_model='plumb_bob', D=[0.5, 0, 0, 0, 0],
                      K=[777, 0, 320, 0, 777, 240, 0, 0, 1], R=[1, 0, 0, 0, 1, 0, 0, 0, 1],
                      P=[777, 0, 320, 0, 0, 777, 240, 0, 0, 0, 1, 0])
    reply = rospy.ServiceProxy('/camera/set_camera_info', SetCameraInfo)(info)
    print('reply %s %s' % (reply.success, reply.status_message))
    rospy.sleep(0.5)
    after = rospy.wait_for_message('/camera/camera_info', CameraInfo, timeout=20)
    print('after K0=%g D0=%g' % (after.K[0], after.D[0]))
''')


def test_calibration_is_loaded_published_and_saved(tmp_path):
    require(shutil.which('roslaunch'), 'ROS 1 is not installed')
    calibration = tmp_path / 'cam.yaml'
    calibration.write_text(YAML)
    port = free_port()
    env = ros_env(port)
    launch = start(['roslaunch', '-p', str(port), 'camera_server', 'capture.launch', 'device:=test',
                    'frame_id:=optical', 'camera_info_url:=file://%s' % calibration], env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        client = subprocess.run([ROS_PYTHON, '-c', CLIENT], env=env, capture_output=True, text=True,
                                timeout=90)
        output = client.stdout + client.stderr
        assert 'before K0=500 size=640x480 frame=optical' in output, output
        assert 'reply True saved to %s' % calibration in output, output
        assert 'after K0=777 D0=0.5' in output, output
        saved = calibration.read_text()
        assert 'data: [777.0, 0.0, 320.0' in saved and 'camera_name: camera' in saved, saved
    finally:
        stop(launch)
