"""Helpers of the video stream tests: read captured bytes with ffprobe/ffmpeg, parse MP4 and WebM, SSIM."""
import json
import os
import socket
import struct
import subprocess
import sys
import time

import numpy as np

from support import REPO
from support.waits import wait_until

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
        if body >= len(data):
            break  # cut inside the element's head
        size, body = _vint(data, body, False)
        if body > len(data):
            break
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


def first_frame(body):
    """``body`` (a video stream's body) up to the end of its first whole frame, or None before it has come."""
    if body[4:8] == b'ftyp':
        mdats = [offset + size for kind, offset, size in mp4_boxes(body) if kind == 'mdat']
        return body[:mdats[0]] if mdats else None
    ends = [end for element_id, _, end in webm_elements(body) if element_id == 0x1f43b675 and end <= len(body)]
    return body[:ends[0]] if ends else None


def join_stream(port, target, timeout):
    """A new viewer of the video stream ``target``: (seconds from before connecting to its first
    whole frame, the body up to the end of that frame)."""
    asked = time.time()
    sock = socket.create_connection(('127.0.0.1', port), timeout)
    try:
        sock.sendall(('GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' % target).encode('latin-1'))
        data = b''
        while True:
            chunk = sock.recv(65536)
            assert chunk, 'the stream %s ended before its first frame: %r' % (target, data[:200])
            data += chunk
            head, _, body = data.partition(b'\r\n\r\n')
            frame = first_frame(body) if _ else None
            if frame:
                return time.time() - asked, frame
    finally:
        sock.close()


QUIET_S = 8.0  # the window without joins a watcher's figures are compared with


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def watched(watcher, server, codec):
    """(time, frames, bytes the watcher, a support.stream_client.VideoStream, has, frames the
    ``codec`` output made, its gop) now; ``server`` has health()."""
    output, = [o for t in server.health()['topics'] for o in t['outputs'] if o['type'] == codec]
    return time.time(), watcher.frames(codec), len(watcher.body()), output['frames_total'], output['gop']


def quiet_window(watcher, server, codec, timeout):
    """Once the watcher has 70 frames (within ``timeout`` s), its ``watched`` readings at the start
    and end of QUIET_S s without joins, and the frame period it saw meanwhile."""
    wait_until(lambda: watcher.frames(codec) >= 70, timeout, 'the watcher to get 70 frames')
    quiet = watched(watcher, server, codec)
    time.sleep(QUIET_S)
    start = watched(watcher, server, codec)
    return quiet, start, 1.0 / max(rates(quiet, start)[0], 1.0)


def rates(before, after):
    """(frames/s, bytes a frame) the watcher got between two ``watched`` readings."""
    frames = after[1] - before[1]
    return frames / (after[0] - before[0]), (after[2] - before[2]) / max(frames, 1)


def assert_watcher_unchanged(codec, quiet, start, end):
    """The viewer already watching got every frame the output made between ``start`` and ``end``
    (``watched`` readings) while others joined, at the rate and size of the window from ``quiet``
    to ``start``, when nobody joined."""
    made, got = end[3] - start[3], end[1] - start[1]
    assert abs(got - made) <= 1, 'the watcher got %d of the %d frames made while viewers joined' % (got, made)
    (quiet_fps, quiet_size), (join_fps, join_size) = rates(quiet, start), rates(start, end)
    print('%s watcher: %.1f frames/s of %.0f bytes without joins, %.1f of %.0f with' % (
        codec, quiet_fps, quiet_size, join_fps, join_size))
    assert abs(join_fps - quiet_fps) <= 0.15 * quiet_fps and abs(join_size - quiet_size) <= 0.15 * quiet_size, \
        '%s watcher: %.1f frames/s of %.0f bytes while viewers joined, %.1f of %.0f before' % (
            codec, join_fps, join_size, quiet_fps, quiet_size)
