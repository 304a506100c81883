"""Everything that runs in the Melodic image works on a real Python 2.7.

.ci/python27.sh provides Debian 11's python2.7 beside the system, with numpy 1.13.3 and
PyYAML 3.12 as on Ubuntu 18.04 (Melodic) and OpenCV 3.4 (Melodic: 3.2). These tests compile every Python file of
src/ and scripts/ with it, import every module that needs no ROS, run the unit tests of
UNIT_TESTS_27 with pytest 4.6 under it (the same files as under Python 3), run both pipelines' nodes
under it with a real rospy (support/rospy27.py) against a Python 3 master, and run the in-process
server checks of test/system/py27/check_logic.py under it (and under Python 3, so that a failure
seen only under 2.7 is known to be a 2.7 incompatibility).
"""
import glob
import os
import subprocess

import pytest

from support import REPO
from support.ci import require
from support.ros_master import free_port, running_master, start, stop, wait_for_port
from support.rospy27 import make_rospy27
from support.stream_client import MjpegStream, capture, http_get
from support.waits import wait_until

CHECK_LOGIC = os.path.join(REPO, 'test', 'system', 'py27', 'check_logic.py')
# The unit tests of the code the Melodic image runs, as they are. Left out: test_image_codec and
# test_sources (they measure TurboJPEG and OpenCV 4's passthrough, which the 2.7 stand-in lacks),
# test_docs, test_viewer and test_support (Python 3 tooling around the tests).
UNIT_TESTS_27 = ['test_auth.py', 'test_camera_info.py', 'test_capture.py', 'test_fanout.py', 'test_ffmpeg_output.py',
                 'test_fmp4.py', 'test_framing.py', 'test_geometry.py', 'test_handoff.py', 'test_http_replies.py',
                 'test_in_process_topics.py', 'test_layers.py', 'test_mjpeg_avi.py', 'test_params.py', 'test_rates.py', 'test_render.py',
                 'test_shutdown.py', 'test_url_api.py', 'test_video_encoder.py', 'test_webm.py']
DESELECTED_27 = [
    # needs cv_bridge, which exists for Python 2.7 only in ROS Melodic itself.
    'test/unit/test_render.py::test_mono16_depth_is_scaled_to_visible_range',
]
PROVISION_TIMEOUT_S = 900  # debootstrap of Debian 11 on a fresh machine takes about a minute
RUN_TIMEOUT_S = 120
# The first test may provision Python 2.7.
pytestmark = pytest.mark.timeout(PROVISION_TIMEOUT_S + 2 * RUN_TIMEOUT_S)


def python_files():
    """Every Python file that goes into the image: src/**/*.py and the scripts/ entry points."""
    files = sorted(glob.glob(os.path.join(REPO, 'src', '**', '*.py'), recursive=True))
    for path in sorted(glob.glob(os.path.join(REPO, 'scripts', '*'))):
        with open(path, 'rb') as script:
            if b'python' in script.readline():
                files.append(path)
    return files


def package_modules():
    """Every module of the camera_server package, by its import name."""
    names = [os.path.splitext(os.path.basename(path))[0]
             for path in glob.glob(os.path.join(REPO, 'src', 'camera_server', '*.py'))]
    return sorted('camera_server' if name == '__init__' else 'camera_server.' + name for name in names)


def ros_free_modules():
    """camera_server modules that must import without ROS: all but the *_node ones."""
    return [name for name in package_modules() if not name.endswith('_node')]


@pytest.fixture(scope='module')
def python27():
    """Path of the Python 2.7 interpreter, provisioned on first use."""
    require(os.geteuid() == 0, 'provisioning Python 2.7 (debootstrap) needs root')
    try:
        result = subprocess.run(['bash', os.path.join(REPO, '.ci', 'python27.sh')], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, timeout=PROVISION_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail('.ci/python27.sh did not finish within %d s' % PROVISION_TIMEOUT_S)
    require(result.returncode == 0, '.ci/python27.sh failed (exit %d): %s'
            % (result.returncode, result.stderr.decode()[-2000:]))
    return result.stdout.decode().strip()


@pytest.fixture(scope='module')
def rospy27(tmp_path_factory):
    """A PY27_PATH folder holding a real rospy and the messages for Python 2.7 (support/rospy27.py)."""
    return make_rospy27(str(tmp_path_factory.mktemp('rospy27')))


def run27(python27, args, *extra_path):
    env = dict(os.environ, PY27_PATH=os.pathsep.join([os.path.join(REPO, 'src'), os.path.join(REPO, 'test')]
                                                     + list(extra_path)))
    result = subprocess.run([python27] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env, cwd=REPO, timeout=RUN_TIMEOUT_S)
    return result.returncode, result.stdout.decode('utf-8', 'replace')


@pytest.mark.python27
def test_interpreter_is_python_2_7(python27):
    code, output = run27(python27, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'])
    assert code == 0 and output.strip() == '2.7', 'exit %d: %s' % (code, output)


COMPILE_ALL = '''
import sys
failed = 0
for path in sys.argv[1:]:
    try:
        compile(open(path).read(), path, "exec")
    except SyntaxError as error:
        failed += 1
        print("%s:%s: %s" % (path, error.lineno, error.msg))
print("compiled %d files, %d failed" % (len(sys.argv) - 1, failed))
sys.exit(1 if failed else 0)
'''


@pytest.mark.python27
def test_every_python_file_compiles_under_2_7(python27):
    files = python_files()
    assert len(files) >= 10, 'only %d Python files found: %s' % (len(files), files)
    code, output = run27(python27, ['-c', COMPILE_ALL] + files)
    assert code == 0, output


IMPORT_MODULES = os.path.join(REPO, 'test', 'system', 'py27', 'import_modules.py')


@pytest.mark.python27
def test_every_module_without_ros_imports_under_2_7(python27):
    modules = ros_free_modules()
    assert 'camera_server.url_api' in modules and 'camera_server.sources' in modules, modules
    code, output = run27(python27, [IMPORT_MODULES] + modules)
    assert code == 0, output


@pytest.mark.python27
def test_node_modules_import_under_2_7_with_rospy(python27, rospy27):
    nodes = sorted(set(package_modules()) - set(ros_free_modules()))
    assert 'camera_server.capture_node' in nodes and 'camera_server.web_server_node' in nodes, nodes
    code, output = run27(python27, [IMPORT_MODULES] + nodes, rospy27)
    assert code == 0, output


@pytest.mark.python27
def test_unit_tests_pass_under_2_7(python27):
    paths = [os.path.join('test', 'unit', name) for name in UNIT_TESTS_27]
    deselect = [arg for test in DESELECTED_27 for arg in ('--deselect', test)]
    code, output = run27(python27, ['-m', 'pytest', '-p', 'no:cacheprovider', '-q'] + deselect + paths)
    last = output.strip().splitlines()[-1] if output.strip() else ''
    assert code == 0 and ' passed' in last and 'failed' not in last, output[-4000:]


@pytest.mark.python27
def test_logic_checks_pass_under_2_7(python27):
    code, output = run27(python27, [CHECK_LOGIC])
    assert code == 0, output
    assert output.rstrip().endswith(' 0 failed') and 'python 2.7.' in output, output


def test_logic_checks_pass_under_python_3():
    """The same checks under Python 3: tells a 2.7-only failure from a broken check."""
    result = subprocess.run(['/usr/bin/python3', CHECK_LOGIC], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            cwd=REPO, timeout=RUN_TIMEOUT_S)
    output = result.stdout.decode('utf-8', 'replace')
    assert result.returncode == 0, output


# The node commands of each pipeline, as server.launch runs them (node names as there).
PIPELINES = {
    'one_process': [['pipeline_node', '__name:=camera', '_device:=test', '_port:=%(port)d']],
    'two_nodes': [['capture_node', '__name:=camera', '_device:=test'],
                  ['web_server', '__name:=web_server', '_port:=%(port)d']],
}
MJPEG_SECONDS = 3.0


def mjpeg_rate(port):
    """Frames per second of /camera/image_raw's MJPEG stream, over MJPEG_SECONDS."""
    stream = MjpegStream(port, '/stream?topic=/camera/image_raw', timeout=10.0)
    try:
        assert stream.status == 200, (stream.status, stream.body)
        stream.read_frame()  # the first may be the one kept from before the request
        return len(stream.read_for(MJPEG_SECONDS)) / MJPEG_SECONDS
    finally:
        stream.close()


def serve_test_pattern(python, env, pipeline, check):
    """Runs ``pipeline``'s nodes under ``python`` with a fresh master, calls check(port) once
    the web server listens, and returns its value."""
    port = free_port()
    with running_master() as ros:
        ros.update(env)
        nodes = [start([python, os.path.join(REPO, 'scripts', node[0])] + [arg % {'port': port} for arg in node[1:]],
                       ros, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for node in PIPELINES[pipeline]]
        try:
            wait_for_port(port, timeout=60.0)
            # two_nodes: the web server may listen before the capture node has advertised the topic.
            wait_until(lambda: '/camera/image_raw' in http_get(port, '/', timeout=10.0)[2].decode('utf-8', 'replace'),
                       60.0, 'the camera topic listed at /', interval=0.2)
            return check(port)
        finally:
            for node in nodes:
                stop(node)


@pytest.mark.python27
@pytest.mark.parametrize('pipeline', sorted(PIPELINES))
def test_nodes_stream_under_2_7_as_under_python_3(python27, rospy27, pipeline):
    """The nodes under 2.7, with real rospy against a Python 3 master, serve the test pattern at
    the rate the same nodes reach under Python 3 in this test (the source's 30 fps clock paces both)."""
    rate3 = serve_test_pattern('/usr/bin/python3', {}, pipeline, mjpeg_rate)
    env27 = {'PY27_PATH': os.pathsep.join([os.path.join(REPO, 'src'), rospy27])}

    def check(port):
        replies = []
        wait_until(lambda: replies.append(http_get(port, '/snapshot?topic=/camera/image_raw', timeout=10.0))
                   or replies[-1][0] == 200, 30.0, 'a snapshot with status 200', interval=0.5)
        assert replies[-1][2][:2] == b'\xff\xd8', replies[-1][:2]
        video = capture(port, '/stream?topic=/camera/image_raw&type=h264', 20.0,
                        until=lambda data: data.count(b'moof') >= 10)
        assert video[0] == 200 and video[2].count(b'moof') >= 10, \
            'h264 under 2.7: status %d, %d fragments' % (video[0], video[2].count(b'moof'))
        return mjpeg_rate(port)

    rate27 = serve_test_pattern(python27, env27, pipeline, check)
    assert rate3 > 0 and rate27 >= 0.8 * rate3, \
        '%s under 2.7: %.1f MJPEG frames/s, under Python 3: %.1f' % (pipeline, rate27, rate3)
