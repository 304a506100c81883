"""`catkin_make install` gives a working package: the installed launch file starts the
installed node, which publishes."""
import os
import shutil
import subprocess
import time

from conftest import require
from ros_master import free_port, ros_env, start, stop, wait_for_port

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_install_space_runs_capture_launch(tmp_path):
    require(shutil.which('catkin_make') and shutil.which('roslaunch'), 'catkin and ROS 1 are not installed')
    (tmp_path / 'src').mkdir()
    os.symlink(REPO, str(tmp_path / 'src' / 'camera_server'))
    build = subprocess.run(['catkin_make', '-C', str(tmp_path), 'install', '-DPYTHON_EXECUTABLE=/usr/bin/python3',
                            '-DCATKIN_ENABLE_TESTING=OFF'], cwd=str(tmp_path),
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    install = tmp_path / 'install'
    for path in ('lib/camera_server/capture_node', 'lib/camera_server/web_server_auto',
                 'share/camera_server/launch/server.launch', 'share/camera_server/package.xml'):
        assert (install / path).exists(), 'catkin_make install did not install %s' % path
    port = free_port()
    env = ros_env(port)
    # Only the install space: drop the development workspace from the environment.
    for name in ('ROS_PACKAGE_PATH', 'PYTHONPATH', 'CMAKE_PREFIX_PATH'):
        env.pop(name, None)
    sourced = '. %s/setup.bash && ' % install
    launch = start(['bash', '-c', sourced + 'exec roslaunch -p %d camera_server capture.launch '
                    'device:=test width:=160 height:=120' % port], env,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        deadline = time.time() + 30
        echo = None
        while time.time() < deadline:
            echo = subprocess.run(['bash', '-c', sourced + 'rostopic echo -n 1 /camera/camera_info'],
                                  env=env, capture_output=True, text=True, timeout=20)
            if 'width: 160' in echo.stdout:
                break
            time.sleep(0.5)
        assert 'width: 160' in echo.stdout and 'frame_id: "camera"' in echo.stdout, \
            echo.stdout + echo.stderr
        finder = subprocess.run(['bash', '-c', sourced + 'rospack find camera_server'], env=env,
                                capture_output=True, text=True, timeout=20)
        assert finder.stdout.strip() == str(install / 'share' / 'camera_server'), finder.stdout
    finally:
        stop(launch)
