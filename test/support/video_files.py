"""Generated test media: video files of indexed frames, and the JPEG chunks of an AVI."""
import shutil
import struct
import subprocess

import cv2

from support.ci import require
from support.frames import make_frame

def write_video(path, count, fourcc='MJPG', fps=30.0, width=320, height=240):
    """Writes ``count`` indexed frames (support.frames); returns them as a list of arrays."""
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    assert writer.isOpened(), 'OpenCV cannot write %s with %s' % (path, fourcc)
    frames = [make_frame(i, width, height) for i in range(count)]
    for frame in frames:
        writer.write(frame)
    writer.release()
    return frames


def avi_chunk_offsets(data):
    """(offset, size) of the '00dc' video chunk payloads in AVI ``data``, parsed independently of OpenCV."""
    chunks = []
    position = data.index(b'movi') + 4
    while position + 8 <= len(data):
        tag, size = data[position:position + 4], struct.unpack('<I', data[position + 4:position + 8])[0]
        if tag == b'idx1':
            break
        if tag == b'LIST':
            position += 12
            continue
        if tag[2:] == b'dc':
            chunks.append((position + 8, size))
        position += 8 + size + (size & 1)
    return chunks


def avi_jpeg_chunks(path):
    """The payloads of the '00dc' video chunks of an AVI file."""
    data = open(path, 'rb').read()
    return [data[offset:offset + size] for offset, size in avi_chunk_offsets(data)]


def mjpg_file(path, count, size='320x240'):
    """An MJPG AVI made by ffmpeg (not by OpenCV, whose writer the sources also read)."""
    require(shutil.which('ffmpeg'), 'ffmpeg is not installed')
    subprocess.run(['ffmpeg', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i',
                    'testsrc=size=%s:rate=30' % size, '-frames:v', str(count), '-c:v', 'mjpeg',
                    '-q:v', '5', path], check=True, timeout=60)


def damaged_mjpg_file(tmp_path):
    """An ffmpeg MJPG file of 30 frames: frame 5 has no start marker, frame 12 a zeroed
    header, and the file stops in the middle of frame 20. Returns (path, good frame count)."""
    path = str(tmp_path / 'clip.avi')
    mjpg_file(path, 30)
    data = bytearray(open(path, 'rb').read())
    offsets = avi_chunk_offsets(bytes(data))
    assert len(offsets) == 30, 'ffmpeg wrote %d frames' % len(offsets)
    start, _ = offsets[5]
    data[start:start + 2] = b'\x00\x00'
    start, _ = offsets[12]
    data[start + 2:start + 200] = b'\x00' * 198
    start, size = offsets[20]
    damaged = str(tmp_path / 'damaged.avi')
    with open(damaged, 'wb') as out:
        out.write(bytes(data[:start + size // 2]))
    return damaged, 20 - 2
