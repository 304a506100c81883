# Read by catkin_python_setup(); do not run it by hand.
from setuptools import setup
from catkin_pkg.python_setup import generate_distutils_setup

setup(**generate_distutils_setup(
    packages=['camera_server'],
    package_dir={'': 'src'},
    package_data={'camera_server': ['www/*']},  # the web pages' files, found beside the modules
))
