"""Bad configuration of the real capture node: a clear message and an exit, never a hang."""
import shutil
import subprocess

import pytest

from conftest import require
from ros_master import running_master


@pytest.fixture(scope='module')
def master():
    require(shutil.which('roscore') and shutil.which('rosrun'), 'ROS 1 (roscore, rosrun) is not installed')
    with running_master() as env:
        yield env


@pytest.mark.parametrize('argument, words', [
    ('_width:=-640', ['~width', '-640', 'accepted values', '>= 0']),
    ('_encoding:=yuv422', ['~encoding', 'yuv422', 'bgr8, mono8, rgb8']),
    ('_fourcc:=XVID', ['~fourcc', 'XVID', 'MJPG']),
    ('_camera_info_url:=file:///nonexistent/calibration.yaml',
     ['~camera_info_url', '/nonexistent/calibration.yaml', 'No such file']),
    ('_camera_info_url:=ftp://host/c.yaml', ['~camera_info_url', 'file://', 'package://']),
])
def test_bad_parameter_exits_with_a_clear_message(master, argument, words):
    # Private parameters stay on the master: a node name of its own per case.
    name = 'camera_%d' % (abs(hash(argument)) % 100000)
    result = subprocess.run(['rosrun', 'camera_server', 'capture_node', '__name:=' + name,
                             '_device:=test', argument], env=master, capture_output=True,
                            text=True, timeout=30)
    output = result.stdout + result.stderr
    assert result.returncode == 2, 'exit code %s, output:\n%s' % (result.returncode, output)
    assert 'invalid configuration' in output
    for word in words:
        assert word in output, '%r not in:\n%s' % (word, output)
    assert 'Traceback' not in output, output
