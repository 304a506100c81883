"""server:=auto|web_video_server|builtin: the launcher picks web_video_server's executable when
the package is installed (same arguments, so private parameters apply), else the built-in server."""
import os
import shutil
import stat
import subprocess

import pytest

from support import REPO
from support.ci import require
from support.ros_master import ROS_PYTHON, free_port, running_master, start, stop, wait_for_port

LAUNCHER = os.path.join(REPO, 'scripts', 'server')

FAKE_PACKAGE_XML = '''<?xml version="1.0"?>
<package format="2"><name>web_video_server</name><version>0.2.2</version>
<description>stand-in</description><maintainer email="x@example.invalid">x</maintainer>
<license>BSD</license></package>
'''


def run_launcher(args, env, timeout=20):
    env = dict(env, PYTHONPATH=os.path.join(REPO, 'src') + os.pathsep + env.get('PYTHONPATH', ''))
    return subprocess.run([ROS_PYTHON, LAUNCHER] + args, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)


@pytest.fixture
def fake_web_video_server(tmp_path):
    """A package named web_video_server whose executable records its arguments."""
    require(shutil.which('rospack'), 'ROS 1 (rospack) is not installed')
    package = tmp_path / 'web_video_server'
    package.mkdir()
    (package / 'package.xml').write_text(FAKE_PACKAGE_XML)
    record = tmp_path / 'argv.txt'
    executable = package / 'web_video_server'
    executable.write_text('#!/bin/sh\nprintf "%%s\\n" "$0" "$@" > %s\n' % record)
    executable.chmod(executable.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ, ROS_PACKAGE_PATH=str(tmp_path) + os.pathsep + os.environ.get('ROS_PACKAGE_PATH', ''))
    return env, record, str(executable)


@pytest.mark.parametrize('choice', ['auto', 'web_video_server'])
def test_installed_web_video_server_is_exec_with_the_same_arguments(fake_web_video_server, choice):
    env, record, executable = fake_web_video_server
    done = run_launcher([choice, '__name:=web_video_server', 'image:=/cam'], env)
    assert done.returncode == 0, done.stderr
    assert 'running web_video_server, because the web_video_server package is installed' in done.stderr, done.stderr
    assert record.read_text().split('\n')[:3] == [executable, '__name:=web_video_server', 'image:=/cam'], \
        record.read_text()


def test_web_video_server_asked_but_missing_fails_clearly():
    require(shutil.which('rospack'), 'ROS 1 (rospack) is not installed')
    done = run_launcher(['web_video_server'], dict(os.environ))
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert 'web_video_server package is not installed; use server:=builtin' in done.stderr, done.stderr


def test_bad_choice_names_the_accepted_values():
    done = run_launcher(['nginx'], dict(os.environ))
    assert done.returncode == 2 and 'accepted values are auto, web_video_server, builtin' in done.stderr, done.stderr


def test_auto_without_web_video_server_runs_the_builtin_server(tmp_path):
    require(shutil.which('roscore') and shutil.which('rospack'), 'ROS 1 (roscore, rospack) is not installed')
    port = free_port()
    log = tmp_path / 'launcher.log'
    with running_master() as env:
        env['PYTHONPATH'] = os.path.join(REPO, 'src') + os.pathsep + env.get('PYTHONPATH', '')
        with open(str(log), 'w') as out:
            process = start([ROS_PYTHON, LAUNCHER, 'auto', '_port:=%d' % port, '_address:=127.0.0.1'], env,
                            stdout=out, stderr=subprocess.STDOUT)
            try:
                wait_for_port(port, 20)
            finally:
                stop(process)
    text = log.read_text()
    assert 'server:=auto: running the built-in web server, because the web_video_server package is not ' \
        'installed' in text, text
    assert 'web server on http://127.0.0.1:%d/' % port in text, text
