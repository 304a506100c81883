"""Imports the named modules and reports every failure: python2.7 import_modules.py NAME..."""
from __future__ import print_function

import importlib
import sys
import traceback


def main(argv):
    names = argv[1:]
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
