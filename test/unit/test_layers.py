"""The package's layers: every module sits in one, imports only from its own layer or lower ones,
the import graph has no cycle, only the ROS glue imports rospy, and no module outgrows one job.

LAYERS is the declared order, bottom first (docs/design.md draws it). A new module goes into
the layer of its job; a test failing here names the module and the import that broke the order.
"""
import ast
import glob
import os

import pytest

pytestmark = pytest.mark.unit

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       'src', 'camera_server')

LAYERS = (
    ('python', ['compat']),  # every Python 2.7 / 3 difference
    ('codecs', ['turbojpeg', 'image_codec']),  # JPEG bytes and sensor_msgs pixel fields <-> numpy
    ('basics', ['handoff', 'rates', 'shutdown', 'master_watch', 'params', 'auth', 'tls', 'camera_info']),
    ('values', ['geometry', 'messages', 'url_api']),  # sizes, ROS messages and the URL API as plain values
    ('image', ['render', 'placeholder']),  # decode, transform, encode a picture
    ('capture', ['sources', 'mjpeg_avi', 'opencv_sources', 'capture', 'capture_params']),  # camera, file, URL or test pattern -> captured frames
    ('wire', ['http_replies', 'fmp4', 'webm', 'framing']),  # the bytes a client receives
    ('encoders', ['ffmpeg_probe', 'ffmpeg_output', 'video_encoder']),  # pictures -> H.264/VP8/VP9 in ffmpeg
    ('fanout', ['fanout', 'in_process_topics', 'video_clients', 'video_output', 'liveness', 'health']),  # topics -> shared outputs -> clients
    ('transport', ['poll_loop', 'request_heads', 'stream_writer', 'handler_pool']),  # sockets, poll loops, threads
    ('web', ['web_files', 'viewer', 'web_params', 'web_server']),  # URLs -> replies
    ('ros', ['ros_node', 'capture_node', 'web_server_node', 'pipeline_node', 'server']),  # rospy glue and executables
)
ROS_MODULES = ('rospy', 'rosgraph', 'sensor_msgs', 'std_msgs')  # only *_node modules import these
MAX_MODULE_LINES = 300  # a module past this has become two jobs: split it by job


def package_modules():
    return sorted(os.path.basename(path)[:-3] for path in glob.glob(os.path.join(PACKAGE, '*.py'))
                  if not path.endswith('__init__.py'))


def imports(module):
    """(camera_server modules, other top-level modules) that ``module`` imports, anywhere in its code."""
    with open(os.path.join(PACKAGE, module + '.py')) as source:
        tree = ast.parse(source.read())
    own, other = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == 'camera_server':
                own.update(alias.name for alias in node.names)
            elif node.module.startswith('camera_server.'):
                own.add(node.module.split('.')[1])
            else:
                other.add(node.module.split('.')[0])
        elif isinstance(node, ast.Import):
            other.update(alias.name.split('.')[0] for alias in node.names)
    return own, other


def layer_of():
    return dict((module, index) for index, (_, modules) in enumerate(LAYERS) for module in modules)


def test_every_module_is_in_exactly_one_layer():
    declared = [module for _, modules in LAYERS for module in modules]
    repeated = sorted(set(m for m in declared if declared.count(m) > 1))
    assert not repeated, 'modules in more than one layer: %s' % repeated
    modules = package_modules()
    missing = sorted(set(modules) - set(declared))
    gone = sorted(set(declared) - set(modules))
    assert not missing, 'modules in no layer (add them to LAYERS in %s): %s' % (__file__, missing)
    assert not gone, 'LAYERS names modules that do not exist: %s' % gone


def test_no_module_imports_from_a_layer_above_its_own():
    layers = layer_of()
    upward = []
    for module in package_modules():
        for imported in imports(module)[0]:
            if module in layers and imported in layers and layers[imported] > layers[module]:
                upward.append('%s (%s) imports %s (%s)' % (module, LAYERS[layers[module]][0], imported,
                                                           LAYERS[layers[imported]][0]))
    assert not upward, 'imports upward:\n' + '\n'.join(sorted(upward))


def test_import_graph_has_no_cycle():
    graph = dict((module, imports(module)[0]) for module in package_modules())
    done, path = set(), []

    def visit(module):
        if module in path:
            return path[path.index(module):] + [module]
        if module in done:
            return None
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            cycle = visit(imported)
            if cycle:
                return cycle
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module)
        assert cycle is None, 'import cycle: %s' % ' -> '.join(cycle)


def test_only_the_node_modules_import_ros():
    found = ['%s imports %s' % (module, sorted(set(imports(module)[1]) & set(ROS_MODULES)))
             for module in package_modules()
             if set(imports(module)[1]) & set(ROS_MODULES) and not module.endswith('_node')]
    assert not found, found


def test_no_module_is_over_300_lines():
    sizes = {}
    for module in package_modules():
        with open(os.path.join(PACKAGE, module + '.py')) as source:
            sizes[module] = len(source.read().splitlines())
    large = sorted('%s: %d lines' % item for item in sizes.items() if item[1] > MAX_MODULE_LINES)
    assert not large, 'modules over %d lines: %s' % (MAX_MODULE_LINES, large)
