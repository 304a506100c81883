"""A real roscore on a free loopback port for pytest integration tests, and process helpers."""
import contextlib
import os
import signal
import socket
import subprocess

from support.waits import wait_until

ROS_PYTHON = '/usr/bin/python3'


def free_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def ros_env(master_port, **extra):
    """The environment for ROS processes talking to the master on ``master_port``, on loopback."""
    env = dict(os.environ)
    env.update(ROS_MASTER_URI='http://127.0.0.1:%d' % master_port, ROS_IP='127.0.0.1')
    env.pop('ROS_HOSTNAME', None)
    env.update(extra)
    return env


def start(command, env, **kwargs):
    """Starts ``command`` in its own process group so that ``stop`` ends all it started."""
    return subprocess.Popen(command, env=env, start_new_session=True, **kwargs)


def stop(process, timeout=10.0):
    if process.poll() is not None:
        return
    for sig in (signal.SIGINT, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except OSError:
            return
        try:
            process.wait(timeout)
            return
        except subprocess.TimeoutExpired:
            continue


def listening(port):
    try:
        socket.create_connection(('127.0.0.1', port), 0.5).close()
        return True
    except OSError:
        return False


def wait_for_port(port, timeout=20.0):
    wait_until(lambda: listening(port), timeout, 'something listening on 127.0.0.1:%d' % port, interval=0.1)


@contextlib.contextmanager
def running_master():
    """Yields the environment of a fresh roscore; kills it afterwards."""
    port = free_port()
    env = ros_env(port)
    master = start(['roscore', '-p', str(port)], env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield env
    finally:
        stop(master)
