"""Run inside a camera_server image (its ROS Python, 2.7 or 3): prints, as JSON, everything the
image finds by name at run time, so that the arm64 and amd64 images can be compared:
the shared libraries loaded through ctypes (TurboJPEG), the Python modules and the folders
they come from, the package as rospack and roslaunch find it, ffmpeg and the encoders the
video streams use (found with the web server's own functions).
    docker run --rm -v $PWD/test/support:/support:ro IMAGE python3 /support/image_lookups.py
"""
from __future__ import print_function

import importlib
import json
import os
import pkgutil
import platform
import subprocess
import sys

MODULES = ('rospy', 'rospkg', 'roslaunch', 'sensor_msgs.msg', 'cv2', 'cv_bridge', 'numpy', 'yaml')


def mapped_file(fragment):
    """The file of this process's memory map whose name contains ``fragment`` (qemu shows the guest's)."""
    with open('/proc/self/maps') as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and fragment in fields[5]:
                return os.path.realpath(fields[5])
    return None


def command_output(command):
    try:
        return subprocess.check_output(command, stderr=subprocess.STDOUT).decode('utf-8', 'replace')
    except (OSError, subprocess.CalledProcessError) as error:
        return 'failed: %s' % error


def main():
    found = {'machine': platform.machine(), 'python': sys.version.split()[0], 'modules': {}}
    for name in MODULES:
        try:
            found['modules'][name] = os.path.dirname(importlib.import_module(name).__file__)
        except Exception as error:  # any failure is a finding, reported by name
            found['modules'][name] = 'failed: %r' % error
    import camera_server
    found['modules']['camera_server'] = os.path.dirname(camera_server.__file__)
    found['camera_server_modules'] = {}
    for module in pkgutil.iter_modules(camera_server.__path__):
        try:
            importlib.import_module('camera_server.' + module[1])
            found['camera_server_modules'][module[1]] = 'ok'
        except Exception as error:
            found['camera_server_modules'][module[1]] = 'failed: %r' % error

    from camera_server import image_codec  # loads TurboJPEG at import, by soname, as the nodes do
    codec = image_codec.TURBOJPEG
    found['turbojpeg'] = mapped_file('libturbojpeg') if codec else None
    if codec:  # the ctypes signatures hold on this architecture: encode, then decode the same pixels
        import numpy as np
        image = np.zeros((48, 64, 3), np.uint8)
        image[:, 32:] = (0, 0, 255)
        decoded = codec.decode_bgr(codec.encode(image, 90))
        found['turbojpeg_roundtrip'] = bool(decoded is not None and decoded.shape == image.shape
                                            and abs(decoded.astype(int) - image).mean() < 4)

    found['rospack'] = command_output(['rospack', 'find', 'camera_server']).strip()
    # sorted: roslaunch lists the files in the order of a set, which differs between runs
    found['server_launch'] = sorted(command_output(['roslaunch', '--files', 'camera_server', 'server.launch']).split())
    # ffmpeg and its encoders, found the way the web server finds them (ffmpeg_probe).
    from camera_server import ffmpeg_probe
    ffmpeg = ffmpeg_probe.find_executable('ffmpeg')
    found['ffmpeg'] = ffmpeg
    listed = ffmpeg_probe.available_encoders(ffmpeg) if ffmpeg else set()
    wanted = set(ffmpeg_probe.ENCODERS.values()) | set(['libx264'])
    found['ffmpeg_encoders'] = dict((name, name in listed) for name in sorted(wanted))
    print(json.dumps(found, sort_keys=True))


if __name__ == '__main__':
    main()
