"""server.launch's ``server`` argument: run web_video_server or the built-in server.

The launcher gets the choice as its first argument and passes every other argument
(remappings, __name, __log) on unchanged, so private parameters apply to whichever
server runs.
"""
import os
import sys

CHOICES = ('auto', 'web_video_server', 'builtin')


def find_web_video_server():
    """(path of web_video_server's executable or None, why)."""
    try:
        import rospkg
        from roslib.packages import find_node
    except ImportError as err:
        return None, 'rospkg/roslib cannot be imported (%s)' % err
    try:
        rospkg.RosPack().get_path('web_video_server')
    except rospkg.ResourceNotFound:
        return None, 'the web_video_server package is not installed'
    found = find_node('web_video_server', 'web_video_server')
    if not found:
        return None, 'the web_video_server package has no web_video_server executable'
    return found[0], 'the web_video_server package is installed at %s' % found[0]


def main(argv=None):
    argv = list(sys.argv if argv is None else argv)
    passed_on = argv[1:]
    # ROS arguments always contain ':=' (remappings, __name:=...); the choice does not.
    choice = passed_on.pop(0) if passed_on and ':=' not in passed_on[0] else 'auto'
    if choice not in CHOICES:
        sys.stderr.write('server:=%s: accepted values are %s\n' % (choice, ', '.join(CHOICES)))
        sys.exit(2)
    if choice != 'builtin':
        path, why = find_web_video_server()
        if path:
            sys.stderr.write('server:=%s: running web_video_server, because %s\n' % (choice, why))
            sys.stdout.flush()
            os.execv(path, [path] + passed_on)
        if choice == 'web_video_server':
            sys.stderr.write('server:=web_video_server cannot start: %s; use server:=builtin or '
                             'server:=auto\n' % why)
            sys.exit(1)
        note = 'server:=auto: running the built-in web server, because %s' % why
    else:
        note = 'server:=builtin: running the built-in web server'
    sys.argv = [argv[0]] + passed_on
    from camera_server.web_server_node import main as run_builtin
    run_builtin(selection_note=note)
