"""Imports the named modules and reports every failure: python2.7 import_modules.py [--stub-ros] NAME...

With --stub-ros, rospy, rospkg and the message packages are stand-ins whose every name is
a placeholder class, so that the *_node modules' own import-time code runs under Python 2.7
where no ROS for 2.7 is installed (their ROS calls themselves run in the Melodic image).
"""
from __future__ import print_function

import importlib
import sys
import traceback
import types

STUBBED_ROOTS = ('rospy', 'rospkg', 'roslib', 'rosgraph', 'sensor_msgs', 'std_msgs')


class StubModule(types.ModuleType):
    """A module in which every attribute exists: a placeholder class named after it."""

    __path__ = []  # a package, so that "from sensor_msgs.msg import X" finds submodules

    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        placeholder = type(str(name), (object,), {})
        setattr(self, name, placeholder)
        return placeholder


class StubRosFinder(object):
    """A Python 2.7 import hook that answers every import under STUBBED_ROOTS with a StubModule."""

    def find_module(self, fullname, path=None):
        return self if fullname.split('.')[0] in STUBBED_ROOTS else None

    def load_module(self, fullname):
        module = sys.modules.setdefault(fullname, StubModule(fullname))
        module.__loader__ = self
        return module


def main(argv):
    names = argv[1:]
    if names and names[0] == '--stub-ros':
        names = names[1:]
        sys.meta_path.insert(0, StubRosFinder())
    failed = 0
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:
            failed += 1
            print('%s:\n%s' % (name, traceback.format_exc()))
    print('imported %d modules, %d failed' % (len(names), failed))
    return 1 if failed or not names else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
