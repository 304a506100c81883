"""Helpers of the video stream tests: read captured bytes with ffprobe/ffmpeg, parse MP4 and WebM, SSIM."""
import json
import os
import struct
import subprocess
import sys

import numpy as np

from support import REPO

sys.path.insert(0, os.path.join(REPO, 'bench'))
from quality import ssim  # noqa: E402,F401 (the benchmark's SSIM, used by the tests too)


def write_temp(tmp_path, name, data):
    path = str(tmp_path / name)
    with open(path, 'wb') as handle:
        handle.write(data)
    return path


def probe_stream(path):
    """ffprobe's first video stream of ``path``: codec_name, profile, width, height, pix_fmt, ..."""
    out = subprocess.check_output(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-count_frames',
                                   '-show_streams', '-of', 'json', path])
    return json.loads(out.decode('utf-8'))['streams'][0]


def probe_frames(path):
    """[(keyframe, pts_time)] of every decoded frame, as ffprobe sees them."""
    out = subprocess.check_output(['ffprobe', '-v', 'error', '-select_streams', 'v:0', '-show_entries',
                                   'frame=key_frame,pts_time,best_effort_timestamp_time', '-of', 'json', path])
    frames = json.loads(out.decode('utf-8'))['frames']
    return [(int(f['key_frame']), float(f.get('pts_time', f.get('best_effort_timestamp_time'))))
            for f in frames]


def decode_frames(path, width, height):
    """Every frame of ``path`` decoded by ffmpeg as BGR arrays, in order."""
    raw = subprocess.check_output(['ffmpeg', '-v', 'error', '-i', path, '-vsync', 'passthrough',
                                   '-f', 'rawvideo', '-pix_fmt', 'bgr24', '-'])
    size = width * height * 3
    return [np.frombuffer(raw[i:i + size], np.uint8).reshape(height, width, 3)
            for i in range(0, len(raw) - size + 1, size)]


def mp4_boxes(data):
    """[(type, offset, size)] of the top-level boxes of MP4 bytes."""
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = struct.unpack('>I', data[offset:offset + 4])[0]
        if size < 8 or offset + size > len(data):
            break
        boxes.append((data[offset + 4:offset + 8].decode('latin-1'), offset, size))
        offset += size
    return boxes


def complete_mp4(body):
    """``body`` cut after its last complete box (a capture ends mid-fragment)."""
    boxes = mp4_boxes(body)
    while boxes and boxes[-1][0] != 'mdat':
        boxes.pop()
    return body[:boxes[-1][1] + boxes[-1][2]] if boxes else b''


def ffmpeg_available():
    return all(any(os.access(os.path.join(folder, name), os.X_OK)
                   for folder in os.environ.get('PATH', '').split(os.pathsep)) for name in ('ffmpeg', 'ffprobe'))


def _vint(data, offset, keep_marker):
    first = ord(data[offset:offset + 1])
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    value = first if keep_marker else first & (0xff >> length)
    for byte in bytearray(data[offset + 1:offset + length]):
        value = (value << 8) | byte
    return value, offset + length


def webm_elements(data):
    """[(id, offset, end)] of the EBML header, the Segment's children (Info, Tracks, Clusters) and
    any later EBML header / Segment (a new initialization segment), in order; the last may be cut."""
    elements, offset = [], 0
    while offset < len(data) - 1:
        element_id, body = _vint(data, offset, True)
        size, body = _vint(data, body, False)
        if element_id == 0x18538067:  # Segment of unknown size: its children follow
            elements.append((element_id, offset, body))
            offset = body
            continue
        end = body + size
        elements.append((element_id, offset, end))
        offset = end
    return elements


def complete_webm(body):
    """``body`` cut after its last complete Cluster."""
    ends = [end for element_id, _, end in webm_elements(body) if element_id == 0x1f43b675 and end <= len(body)]
    return body[:ends[-1]] if ends else b''
