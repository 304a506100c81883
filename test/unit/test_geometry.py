"""geometry: the output size of a request, the camera's aspect ratio kept."""
import pytest

from camera_server.geometry import fit_size


@pytest.mark.parametrize('asked,size', [((-1, -1), (640, 480)), ((320, -1), (320, 240)), ((-1, 120), (160, 120)),
                                        ((100, 100), (100, 100)), ((1, -1), (1, 1))])
def test_output_size_keeps_aspect_ratio(asked, size):
    assert fit_size(640, 480, *asked) == size
