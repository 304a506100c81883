"""`catkin_make install` gives a working package: the installed launch file starts the
installed node, which publishes; the installed web server sends its pages' files; the installed systemd unit starts and stops the server as
systemd would run it (its ExecStart and ExecStop lines, with its environment file)."""
import os
import re
import shlex
import shutil
import signal
import subprocess
import time

import cv2
import numpy as np
import pytest

from support import REPO
from support.ci import require
from support.ros_master import free_port, ros_env, start, stop, wait_for_port
from support.stream_client import http_get

START_DEADLINE_S = 30.0  # roslaunch, its own master, both nodes and the first frame
INSTALLED_PACKAGE = 'lib/python3/dist-packages/camera_server'  # where catkin installs the Python package
SYSTEMD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'  # a system service's PATH


@pytest.fixture(scope='module')
def install(tmp_path_factory):
    """The install space of `catkin_make install` in a fresh workspace."""
    require(shutil.which('catkin_make') and shutil.which('roslaunch'), 'catkin and ROS 1 are not installed')
    workspace = tmp_path_factory.mktemp('ws')
    (workspace / 'src').mkdir()
    os.symlink(REPO, str(workspace / 'src' / 'camera_server'))
    build = subprocess.run(['catkin_make', '-C', str(workspace), 'install', '-DPYTHON_EXECUTABLE=/usr/bin/python3',
                            '-DCATKIN_ENABLE_TESTING=OFF'], cwd=str(workspace),
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return workspace / 'install'


def install_space_env(install, master_port):
    """(environment, shell prefix that sources the install space): only the install space, no
    trace of the development workspace."""
    env = ros_env(master_port)
    for name in ('ROS_PACKAGE_PATH', 'PYTHONPATH', 'CMAKE_PREFIX_PATH'):
        env.pop(name, None)
    return env, '. %s/setup.bash && ' % install


def test_install_space_runs_capture_launch(install):
    for path in ('lib/camera_server/capture_node', 'lib/camera_server/server',
                 'share/camera_server/launch/server.launch', 'share/camera_server/package.xml',
                 'share/camera_server/camera_server.service'):
        assert (install / path).exists(), 'catkin_make install did not install %s' % path
    port = free_port()
    env, sourced = install_space_env(install, port)
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


def test_install_space_serves_the_pages_and_their_files(install):
    """The built-in server of the install space sends the viewer page and every script and style
    sheet it refers to, byte for byte those of www/ (installed as package data beside the modules)."""
    master_port, port = free_port(), free_port()
    env, sourced = install_space_env(install, master_port)
    launch = start(['bash', '-c', sourced + 'exec roslaunch -p %d camera_server server.launch server:=builtin '
                    'address:=127.0.0.1 port:=%d device:=test width:=160 height:=120' % (master_port, port)], env,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, START_DEADLINE_S)
        deadline = time.time() + START_DEADLINE_S
        status, page = None, b''
        while status != 200 and time.time() < deadline:  # 404 until the camera's topic is advertised
            status, _, page = http_get(port, '/stream_viewer?topic=/camera/image_raw')
            time.sleep(0.3)
        assert status == 200, (status, page[:300])
        files = re.findall(r'(?:src|href)="/assets/([^"]+)"', page.decode('utf-8'))
        assert 'viewer.js' in files and 'pages.css' in files, files
        for name in files:
            assert (install / INSTALLED_PACKAGE / 'www' / name).exists(), 'not installed: www/%s' % name
            status, _, body = http_get(port, '/assets/' + name)
            with open(os.path.join(REPO, 'src', 'camera_server', 'www', name), 'rb') as source:
                assert status == 200 and body == source.read(), (name, status, len(body))
    finally:
        stop(launch)


def unit_settings(path):
    """{section: {key: [values]}} of a systemd unit file (keys may repeat)."""
    settings, section = {}, None
    with open(path) as unit:
        for line in unit:
            line = line.strip()
            if not line or line[0] in '#;':
                continue
            if line.startswith('['):
                section = settings.setdefault(line.strip('[]'), {})
                continue
            key, _, value = line.partition('=')
            section.setdefault(key.strip(), []).append(value.strip())
    return settings


def environment_file(path):
    """The variables of an EnvironmentFile= as systemd reads it: KEY=VALUE, quotes removed."""
    variables = {}
    with open(path) as lines:
        for line in lines:
            line = line.strip()
            if line and line[0] not in '#;':
                key, _, value = line.partition('=')
                words = shlex.split(value)
                variables[key.strip()] = ' '.join(words)
    return variables


def command_line(value):
    """argv of an Exec*= line: systemd's quoting (like the shell's for these lines), $$ = $."""
    return [word.replace('$$', '$') for word in shlex.split(value.lstrip('-@:+!'))]


def session_processes(session):
    """PIDs of the processes still in ``session`` (the stand-in for the unit's control group)."""
    listing = subprocess.run(['ps', '-e', '-o', 'pid=,sid=,stat='], capture_output=True, text=True).stdout
    return [int(pid) for pid, sid, stat in (line.split() for line in listing.splitlines())
            if int(sid) == session and not stat.startswith('Z')]


def test_systemd_unit_verifies(install):
    require(shutil.which('systemd-analyze'), 'systemd-analyze is not installed (Debian package systemd)')
    unit = install / 'share' / 'camera_server' / 'camera_server.service'
    verify = subprocess.run(['systemd-analyze', 'verify', str(unit)], capture_output=True, text=True, timeout=60)
    complaints = [line for line in (verify.stdout + verify.stderr).splitlines() if 'camera_server' in line]
    assert verify.returncode == 0 and not complaints, 'systemd-analyze verify: exit %d\n%s%s' % (
        verify.returncode, verify.stdout, verify.stderr)
    service = unit_settings(str(unit))['Service']
    assert service['EnvironmentFile'] == ['-/etc/default/camera_server'], service
    assert service['Restart'] == ['on-failure'] and service['KillSignal'] == ['SIGINT'], service
    assert str(install / 'setup.bash') in service['ExecStart'][0], 'ExecStart does not use this install space: %s' % (
        service['ExecStart'])


def test_systemd_unit_serves_with_the_env_file_arguments_and_stops_in_time(install, tmp_path):
    """ExecStart with the environment systemd gives a system service (its PATH, the unit's
    environment file, nothing of this shell's ROS set-up), then ExecStop as systemd runs it."""
    service = unit_settings(str(install / 'share' / 'camera_server' / 'camera_server.service'))['Service']
    timeout_stop_s = float(service['TimeoutStopSec'][0])
    port, master_port = free_port(), free_port()
    env_file = tmp_path / 'camera_server'  # the stand-in for /etc/default/camera_server
    env_file.write_text('# written by the test\nARGS="device:=test width:=160 height:=120 port:=%d"\n'
                        'ROS_MASTER_URI=http://127.0.0.1:%d\nROS_IP=127.0.0.1\nROS_HOME=%s\n'
                        % (port, master_port, tmp_path / 'ros_home'))
    env = dict(PATH=SYSTEMD_PATH, LANG='C.UTF-8', **environment_file(str(env_file)))
    main = subprocess.Popen(command_line(service['ExecStart'][0]), env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + START_DEADLINE_S
        status, body = None, b''
        while time.time() < deadline and main.poll() is None:
            try:
                status, _, body = http_get(port, '/snapshot?topic=/camera/image_raw', timeout=5.0)
                if status == 200:
                    break
            except (OSError, AssertionError):
                pass
            time.sleep(0.3)
        assert status == 200, 'no snapshot from the unit within %.0f s (status %s, exit %s):\n%s' % (
            START_DEADLINE_S, status, main.poll(), main.stdout.read().decode()[-3000:] if main.poll() is not None else '')
        frame = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        assert frame is not None and frame.shape == (120, 160, 3), 'snapshot: %r' % (None if frame is None else frame.shape,)

        # systemd: ExecStop with $MAINPID, then KillSignal (KillMode=mixed: to the main process
        # only); whatever is left in the control group at TimeoutStopSec would be SIGKILLed.
        # The test reaps the main process as systemd would (ExecStop waits for it to be gone).
        started = time.time()
        exec_stop = subprocess.Popen(command_line(service['ExecStop'][0]), env=dict(env, MAINPID=str(main.pid)))
        while exec_stop.poll() is None and time.time() - started < timeout_stop_s:
            main.poll()
            time.sleep(0.05)
        exec_stop_s = time.time() - started
        assert exec_stop.poll() == 0, 'ExecStop still running or failed after %.1f s (exit %s)' % (
            exec_stop_s, exec_stop.poll())
        while session_processes(main.pid) and time.time() - started < timeout_stop_s:
            time.sleep(0.05)
        took = time.time() - started
        left = session_processes(main.pid)
        assert not left, 'processes of the unit still running %.1f s after ExecStop (TimeoutStopSec=%g): %s' % (
            took, timeout_stop_s, subprocess.run(['ps', '-o', 'pid,args', '-p', ','.join(map(str, left))],
                                                 capture_output=True, text=True).stdout)
        output = main.stdout.read().decode()
        assert main.wait(1) == 0, 'roslaunch exited %s on SIGINT:\n%s' % (main.returncode, output[-3000:])
        assert 'Traceback' not in output, output[-3000:]
        print('unit stopped in %.2f s (ExecStop returned after %.2f s; TimeoutStopSec=%g)'
              % (took, exec_stop_s, timeout_stop_s))
    finally:
        if session_processes(main.pid):
            os.killpg(main.pid, signal.SIGKILL)
        main.wait()
