"""render: the camera's JPEG forwarded untouched, or decoded, resized, inverted and encoded; unreadable input named."""
import cv2
import numpy as np
import pytest

from camera_server import render
from camera_server.messages import CompressedMessage, ImageMessage
from camera_server.url_api import OutputSpec
from support.fake_topics import compressed_source, image_source
from support.frames import make_frame
from support.web_checks import decode, mean_diff

JPEG = OutputSpec('jpeg', -1, -1, None, False)


def test_render_forwards_the_camera_jpeg_unchanged():
    source = compressed_source(3)
    assert render.render(source, JPEG) == ('image/jpeg', source.data)
    assert render.render(source, OutputSpec('as_is', -1, -1, None, False)) == ('image/jpeg', source.data)
    assert not render.forwardable(source, JPEG._replace(quality=95))
    assert not render.forwardable(image_source(3), JPEG)


def test_render_resizes_inverts_and_encodes():
    content_type, payload = render.render(image_source(5), OutputSpec('jpeg', 160, -1, 90, True))
    img = decode(payload)
    assert content_type == 'image/jpeg' and img.shape == (120, 160, 3), img.shape
    expected = cv2.rotate(cv2.resize(make_frame(5), (160, 120), interpolation=cv2.INTER_AREA), cv2.ROTATE_180)
    assert mean_diff(img, expected) < 3.0, mean_diff(img, expected)
    content_type, payload = render.render(image_source(5), OutputSpec('png', -1, -1, None, False))
    assert content_type == 'image/png' and mean_diff(decode(payload), make_frame(5)) == 0.0


def test_render_reports_unreadable_input():
    with pytest.raises(render.RenderError, match='16SC5'):
        render.render(ImageMessage(0.0, '16SC5', 2, 2, 12, b'\0' * 24, 0), JPEG)
    with pytest.raises(render.RenderError, match='does not decode'):
        render.render(CompressedMessage(0.0, 'jpeg', b'not an image'), JPEG._replace(quality=50))


def test_mono16_depth_is_scaled_to_visible_range():
    depth = np.tile(np.linspace(500, 1500, 64, dtype=np.uint16), (48, 1))
    source = ImageMessage(0.0, '16UC1', 48, 64, 128, depth.tobytes(), 0)
    img = decode(render.render(source, JPEG)[1])
    assert img[:, :4].mean() < 20 and img[:, -4:].mean() > 235, (img[:, :4].mean(), img[:, -4:].mean())
