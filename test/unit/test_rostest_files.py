"""Every rostest check in test/ros/ has its own time limit, so that `catkin_make run_tests` cannot hang."""
import glob
import os
import xml.etree.ElementTree as ET

from support import TEST_DIR


def test_every_rostest_check_has_a_time_limit():
    files = sorted(glob.glob(os.path.join(TEST_DIR, 'ros', '*.test')))
    assert files, 'no .test file in test/ros/'
    checks = [(os.path.basename(path), test.get('test-name'), test.get('time-limit'))
              for path in files for test in ET.parse(path).getroot().iter('test')]
    assert len(checks) >= len(files), checks
    assert all(limit and float(limit) > 0 for _, _, limit in checks), checks
