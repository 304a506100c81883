"""The benchmark scripts' short modes (bench/), run as the tests of the system tier run them."""
import os
import shutil
import subprocess

import pytest

from support import REPO
from support.ci import require

PYTHON = '/usr/bin/python3'


def ros_package_found():
    try:
        return subprocess.call(['rospack', 'find', 'camera_server'], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=30) == 0
    except OSError:
        return False


def run_short_mode(script, out, timeout, extra_args=()):
    """What bench/``script`` --short --out ``out`` (and ``extra_args``) prints; fails the test when it
    fails or overruns."""
    require(os.path.exists(PYTHON), '%s (Debian python with ROS 1) is missing' % PYTHON)
    require(shutil.which('roslaunch') is not None, 'roslaunch is not installed (. tools/setup test)')
    require(ros_package_found(), 'ROS cannot find camera_server: source the workspace (. tools/setup test)')
    proc = subprocess.Popen([PYTHON, os.path.join(REPO, 'bench', script), '--short', '--out', str(out)]
                            + list(extra_args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        printed, log = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()  # the script ends the master, the launch and the viewers it started
        printed, log = proc.communicate(timeout=60)
        pytest.fail('%s --short still running after %d s:\n%s' % (script, timeout, log.decode()[-3000:]))
    assert proc.returncode == 0, '%s --short exited %d:\n%s' % (script, proc.returncode, log.decode()[-3000:])
    return printed.decode()
