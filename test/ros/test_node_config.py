"""Bad configuration of the real nodes: a clear message naming the parameter, exit 2, never a hang."""
import shutil
import subprocess

import pytest

from support.ci import require
from support.output_lines import OutputLines
from support.ros_master import running_master, start, stop


@pytest.fixture(scope='module')
def master():
    require(shutil.which('roscore') and shutil.which('rosrun'), 'ROS 1 (roscore, rosrun) is not installed')
    with running_master() as env:
        yield env


@pytest.mark.parametrize('executable, argument, words', [
    ('capture_node', '_width:=-640', ['~width', '-640', 'accepted values', '>= 0']),
    ('capture_node', '_encoding:=yuv422', ['~encoding', 'yuv422', 'bgr8, mono8, rgb8']),
    ('capture_node', '_fourcc:=XVID', ['~fourcc', 'XVID', 'MJPG']),
    ('capture_node', '_camera_info_url:=file:///nonexistent/calibration.yaml',
     ['~camera_info_url', '/nonexistent/calibration.yaml', 'No such file']),
    ('capture_node', '_camera_info_url:=ftp://host/c.yaml', ['~camera_info_url', 'file://', 'package://']),
    ('web_server', '_port:=99999', ['~port', '99999', '<= 65535']),
    ('web_server', '_default_stream_type:=gif', ['~default_stream_type', 'gif', 'mjpeg', 'ros_compressed']),
    ('web_server', '_max_clients:=many', ['~max_clients', "'many'", 'integer']),
    ('web_server', '_h264_encoder:=omx', ['~h264_encoder', 'omx', 'auto, v4l2m2m, libx264']),
    ('web_server', '_max_pending_requests:=0', ['~max_pending_requests', '>= 1']),
    ('web_server', '_certfile:=/nonexistent/cert.pem', ['~certfile', '/nonexistent/cert.pem', 'No such file']),
    ('web_server', '_keyfile:=/nonexistent/key.pem', ['~keyfile', '~certfile']),
    # The one-process node reads both schemas.
    ('pipeline_node', '_fourcc:=XVID', ['~fourcc', 'XVID', 'MJPG']),
    ('pipeline_node', '_camera_info_url:=file:///nonexistent/calibration.yaml',
     ['~camera_info_url', '/nonexistent/calibration.yaml', 'No such file']),
    ('pipeline_node', '_port:=99999', ['~port', '99999', '<= 65535']),
])
def test_bad_parameter_exits_with_a_clear_message(master, executable, argument, words):
    # Private parameters stay on the master: a node name of its own per case.
    name = 'camera_%d' % (abs(hash(argument)) % 100000)
    result = subprocess.run(['rosrun', 'camera_server', executable, '__name:=' + name,
                             '_device:=test', argument], env=master, capture_output=True,
                            text=True, timeout=30)
    output = result.stdout + result.stderr
    assert result.returncode == 2, 'exit code %s, output:\n%s' % (result.returncode, output)
    assert 'invalid configuration' in output
    for word in words:
        assert word in output, '%r not in:\n%s' % (word, output)
    assert 'Traceback' not in output, output


@pytest.mark.parametrize('executable', ['capture_node', 'pipeline_node'])
def test_unknown_parameter_is_named_once_and_the_node_runs(master, executable):
    """A typo (~source for ~device) is not silently ignored, and it does not stop the camera."""
    web = ['_port:=0'] if executable == 'pipeline_node' else []
    proc = start(['rosrun', 'camera_server', executable, '__name:=camera_typo_' + executable, '_device:=test',
                  '_source:=/dev/video1', '_stats_interval:=0.5'] + web, master,
                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    said = OutputLines(proc.stdout)
    try:
        running = said.read_until(lambda line: 'statistics:' in line, 60)
    finally:
        stop(proc)
    lines, output = said.lines, said.text()
    assert running, 'no statistics line within 60 s:\n%s' % output
    warnings = [line for line in lines if 'unknown parameter' in line]
    assert len(warnings) == 1, output
    assert '~source' in warnings[0] and 'device' in warnings[0] and 'stats_interval' in warnings[0], warnings[0]
    assert '~stats_interval' not in warnings[0] and 'fps published' in output, output
    if executable == 'pipeline_node':  # both schemas are known
        assert 'max_clients' in warnings[0] and '~port' not in warnings[0], warnings[0]
