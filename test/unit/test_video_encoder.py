"""video_encoder: the ffmpeg command line each setting gives, and the frames it is fed; no ffmpeg run."""
import numpy as np
import pytest

from camera_server.url_api import VideoSettings
from camera_server.video_encoder import even_size, ffmpeg_command, i420

pytestmark = pytest.mark.unit


def option(command, name):
    return command[command.index(name) + 1]


def test_h264_is_zero_latency_with_the_exact_keyframe_interval_and_bitrate():
    settings = VideoSettings('h264', 500000, 15, None, 40, 'veryfast', None)
    command = ffmpeg_command('ffmpeg', 'h264', 'libx264', 320, 240, 30, settings)
    assert [option(command, name) for name in ('-s', '-framerate', '-preset', '-tune', '-g', '-keyint_min',
                                               '-b:v', '-maxrate', '-qmax')] == \
        ['320x240', '30', 'veryfast', 'zerolatency', '15', '15', '500000', '500000', '40'], command
    assert command[-3:] == ['-f', 'flv', 'pipe:1'], command
    assert option(command, '-bf') == '0' and '-qmin' not in command, command


def test_vp8_realtime_runs_one_thread_at_its_fastest_setting_into_ivf():
    settings = VideoSettings('vp8', 300000, 30, 4, None, None, 'realtime')
    command = ffmpeg_command('ffmpeg', 'vp8', 'libvpx', 640, 480, 25, settings)
    assert [option(command, name) for name in ('-c:v', '-deadline', '-threads', '-cpu-used', '-qmin')] == \
        ['libvpx', 'realtime', '1', '16', '4'], command
    assert command[-3:] == ['-f', 'ivf', 'pipe:1'], command


def test_hardware_h264_gets_only_the_options_it_knows():
    settings = VideoSettings('h264', 800000, 30, 10, 40, 'ultrafast', None)
    command = ffmpeg_command('ffmpeg', 'h264', 'h264_v4l2m2m', 320, 240, 30, settings)
    assert '-preset' not in command and '-qmin' not in command and option(command, '-b:v') == '800000', command


def test_frames_are_cropped_to_even_sides_and_fed_as_i420():
    image = np.zeros((241, 321, 3), np.uint8)
    even = even_size(image)
    assert even.shape == (240, 320, 3), even.shape
    assert len(i420(even)) == 320 * 240 * 3 // 2
    assert len(i420(even_size(np.zeros((5, 7), np.uint8)))) == 6 * 4 * 3 // 2  # mono
