# Read by catkin_python_setup(); do not run it by hand.
from setuptools import setup
from catkin_pkg.python_setup import generate_distutils_setup

setup(**generate_distutils_setup(
    packages=['camera_server'],
    package_dir={'': 'src'},
))
