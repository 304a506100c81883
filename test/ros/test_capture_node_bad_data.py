"""The real capture node on a damaged, looping MJPG file (made by ffmpeg): it stays up, publishes
only whole JPEGs, logs each kind of damage once and counts the bad frames."""
import os
import shutil
import subprocess

from camera_server.image_codec import jpeg_problem
from support import SUPPORT_DIR
from support.ci import require
from support.output_lines import OutputLines
from support.ros_master import ROS_PYTHON, running_master, start, stop
from support.video_files import damaged_mjpg_file


def test_capture_node_publishes_only_whole_jpegs_and_counts_bad_frames(tmp_path):
    """The real node on a damaged, looping MJPG file: it stays up, every published JPEG is
    whole, each kind of damage is logged once, and the statistics line counts the rest."""
    require(shutil.which('roscore') and shutil.which('rosrun'), 'ROS 1 (roscore, rosrun) is not installed')
    path, good = damaged_mjpg_file(tmp_path)
    recorded = tmp_path / 'recorded'
    recorded.mkdir()
    with running_master() as env:
        recorder = start([ROS_PYTHON, os.path.join(SUPPORT_DIR, 'topic_tool.py'), 'record',
                          '/camera/image_raw/compressed', '30', str(recorded)], env)
        node = start(['rosrun', 'camera_server', 'capture_node', '__name:=camera', '_device:=' + path,
                      '_fps:=60', '_stats_interval:=1.5'], env,
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        said = OutputLines(node.stdout)
        try:
            said.read_until(lambda line: 'statistics:' in line and ' 0 bad frames' not in line, 40)
            assert node.poll() is None, 'the capture node exited: %s' % said.text()
        finally:
            stop(node)
            stop(recorder)
    lines, output = said.lines, said.text()
    stats = [line for line in lines if 'statistics:' in line and ' 0 bad frames' not in line]
    assert 'Traceback' not in output, output
    assert stats, 'no statistics line with bad frames:\n%s' % output
    assert all('bad frames skipped' in line for line in stats), stats
    warnings = [line for line in lines if 'skipping a bad frame' in line]
    assert len(warnings) == 3, 'one line per kind of damage expected, got:\n%s' % ''.join(warnings)
    files = sorted(recorded.iterdir())
    assert len(files) >= good, 'only %d JPEGs recorded:\n%s' % (len(files), output)
    for name in files:
        data = name.read_bytes()
        assert jpeg_problem(data) is None, '%s: %s' % (name.name, jpeg_problem(data))
