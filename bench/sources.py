"""Generated benchmark sources: MJPG video files that look like a camera.

A camera picture has texture and motion, which is what makes JPEG encode and
decode cost what they cost; flat colour would flatter every figure. Each
frame is a fixed textured scene (smoothed noise over colour bars) shifted a
little every frame, with a moving block and the frame index written on it.
Files are made once per size and reused (same seed, same bytes).
"""
import os

import cv2
import numpy as np

SECONDS = 4  # file length; the capture node loops it


def scene(width, height, seed=5):
    """The static textured background, BGR uint8."""
    rng = np.random.RandomState(seed)
    bars = np.zeros((height, width, 3), np.uint8)
    colours = [(255, 255, 255), (0, 255, 255), (255, 255, 0), (0, 255, 0),
               (255, 0, 255), (0, 0, 255), (255, 0, 0), (40, 40, 40)]
    for index, colour in enumerate(colours):
        bars[:, index * width // len(colours):(index + 1) * width // len(colours)] = colour
    noise = rng.randint(0, 255, (height // 4, width // 4, 3)).astype(np.uint8)
    texture = cv2.resize(cv2.GaussianBlur(noise, (5, 5), 0), (width, height))
    return cv2.addWeighted(bars, 0.6, texture, 0.4, 0)


def frame(background, index):
    """Frame ``index`` of the moving picture."""
    height, width = background.shape[:2]
    img = np.roll(background, 4 * index, axis=1)
    x = (12 * index) % max(1, width - height // 4)
    cv2.rectangle(img, (x, height // 3), (x + height // 4, height // 3 + height // 4), (0, 128, 255), -1)
    cv2.putText(img, 'frame %05d' % index, (20, height - 30), cv2.FONT_HERSHEY_SIMPLEX,
                height / 360.0, (255, 255, 255), 2)
    return img


def mjpg_file(directory, width, height, fps):
    """Path of the MJPG .avi of this size and rate in ``directory``, written if missing."""
    path = os.path.join(directory, 'bench_%dx%d_%dfps_mjpg.avi' % (width, height, fps))
    if os.path.exists(path):
        return path
    if not os.path.isdir(directory):
        os.makedirs(directory)
    partial = path + '.partial.avi'
    writer = cv2.VideoWriter(partial, cv2.VideoWriter_fourcc(*'MJPG'), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError('OpenCV cannot write an MJPG file at %s' % partial)
    background = scene(width, height)
    for index in range(int(SECONDS * fps)):
        writer.write(frame(background, index))
    writer.release()
    os.rename(partial, path)
    return path


def first_frames(path, count):
    """The first ``count`` decoded frames of a video file."""
    capture = cv2.VideoCapture(path)
    frames = []
    while len(frames) < count:
        ok, img = capture.read()
        if not ok:
            break
        frames.append(img)
    capture.release()
    if not frames:
        raise RuntimeError('no frame could be read from %s' % path)
    return frames
