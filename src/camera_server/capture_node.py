"""The capture node: a thin rospy layer over camera_server.capture and .sources.

Publishes ``~image_raw``, ``~camera_info`` and ``~image_raw/compressed`` (so node
``camera`` gives ``/camera/image_raw``, as cv_camera does), offers ``~set_camera_info``,
and does work only for topics that have subscribers. Frames are published from the
capture thread as they arrive: rospy's publishers queue per subscriber already, so a
hand-off to another thread would only add a wake-up per frame.
"""
import struct
import threading

import rospkg
import rospy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from sensor_msgs.srv import SetCameraInfo, SetCameraInfoResponse
from std_msgs.msg import Header

from camera_server import camera_info
from camera_server.capture import CaptureThread, FrameRenderer, make_source
from camera_server.capture_params import CAPTURE_PARAMS, read_capture_config
from camera_server.image_codec import image_fields, jpeg_size
from camera_server.messages import header_seconds
from camera_server.ros_node import RosLog, configured, init_node, private_param, warn_unknown_parameters, watch_master


class ArrayImage(Image):
    """A sensor_msgs/Image whose ``data`` is a C-contiguous numpy array.

    Serialized to the same bytes as Image, but the pixels go into rospy's buffer in one
    copy; genpy would first copy them to bytes and then pack them into a third buffer.
    """

    def serialize(self, buff):
        pixels = self.data
        self.data = b''
        try:
            Image.serialize(self, buff)  # data is the last field: it ends with a zero length
        finally:
            self.data = pixels
        buff.seek(-4, 1)
        buff.write(struct.pack('<I', pixels.nbytes))
        buff.write(pixels.data)


def frame_size(frame):
    """(width, height) of a captured frame, from its pixels or its JPEG header."""
    if frame.image is not None:
        height, width = frame.image.shape[:2]
        return width, height
    return jpeg_size(frame.jpeg) or (0, 0)


def calibration_msg(calibration):
    """A CameraInfo (header left to the caller) of a calibration dict."""
    return CameraInfo(width=calibration['width'], height=calibration['height'],
                      distortion_model=calibration['distortion_model'], D=calibration['D'],
                      K=calibration['K'], R=calibration['R'], P=calibration['P'])


class CaptureNode(object):
    """The capture thread's frames, published on the node's topics when they have subscribers.

    ``local`` (pipeline_node.InProcessTopics) takes the frames for subscribers in this process:
    ``wanted()`` says (raw pixels, JPEG) and ``deliver(stamp, image, jpeg, jpeg_format)`` gets
    them, before rospy does and without serialization.
    """

    def __init__(self, config, local=None):
        self.config = config
        self.local = local
        calibration, self.calibration_path, message = camera_info.load_for_node(
            config['camera_info_url'], config['camera_name'], rospkg.RosPack().get_path)
        rospy.loginfo(message)
        self.calibration = calibration
        self.calibration_lock = threading.Lock()
        self.renderer = FrameRenderer(config['encoding'], config['jpeg_quality'])
        self.info_msg = None  # built once per calibration and image size, not per frame
        self.image_pub = rospy.Publisher('~image_raw', Image, queue_size=1)
        self.compressed_pub = rospy.Publisher('~image_raw/compressed', CompressedImage, queue_size=1)
        self.info_pub = rospy.Publisher('~camera_info', CameraInfo, queue_size=1)
        self.service = rospy.Service('~set_camera_info', SetCameraInfo, self.set_camera_info)
        self.capture = CaptureThread(make_source(config), self.publish,
                                     config['reconnect_interval'], RosLog)
        self.published = 0

    def set_camera_info(self, request):
        info = request.camera_info
        calibration = {'width': info.width, 'height': info.height,
                       'distortion_model': info.distortion_model, 'D': list(info.D),
                       'K': list(info.K), 'R': list(info.R), 'P': list(info.P)}
        try:
            camera_info.save_calibration(self.calibration_path, self.config['camera_name'],
                                         calibration)
        except (IOError, OSError) as error:
            message = 'cannot save calibration to %s: %s' % (self.calibration_path, error)
            rospy.logerr(message)
            return SetCameraInfoResponse(False, message)
        with self.calibration_lock:
            self.calibration = calibration
            self.info_msg = None
        rospy.loginfo('saved calibration to %s' % self.calibration_path)
        return SetCameraInfoResponse(True, 'saved to %s' % self.calibration_path)

    def camera_info_msg(self, frame):
        """The CameraInfo for ``frame`` (the message is reused; rospy serializes it at once)."""
        with self.calibration_lock:
            calibration = self.calibration
            if not calibration:  # uncalibrated: a blank one of the frame's size, rebuilt if it changes
                size = frame_size(frame)
                if self.info_msg is None or (self.info_msg.width, self.info_msg.height) != size:
                    self.info_msg = calibration_msg(camera_info.blank_calibration(*size))
            elif self.info_msg is None:
                self.info_msg = calibration_msg(calibration)
            return self.info_msg

    def publish(self, frame):
        """Called by the capture thread for every frame; a frame that does not decode raises
        sources.BadFrame before anything is published."""
        ros_raw = self.image_pub.get_num_connections() > 0
        ros_jpeg = self.compressed_pub.get_num_connections() > 0
        want_info = self.info_pub.get_num_connections() > 0
        local_raw, local_jpeg = self.local.wanted() if self.local else (False, False)
        if not (ros_raw or ros_jpeg or want_info or local_raw or local_jpeg):
            self.published += 1
            return
        image, jpeg, jpeg_format = self.renderer.render(frame, ros_raw or local_raw, ros_jpeg or local_jpeg)
        self.published += 1
        if self.local:
            self.local.deliver(header_seconds(frame.stamp), image if local_raw else None,
                               jpeg if local_jpeg else None, jpeg_format)
        if not (ros_raw or ros_jpeg or want_info):
            return
        header = Header(stamp=rospy.Time.from_sec(frame.stamp), frame_id=self.config['frame_id'])
        try:
            if ros_raw:
                height, width, step, pixels = image_fields(image)
                self.image_pub.publish(ArrayImage(header=header, height=height, width=width,
                                                  encoding=self.config['encoding'], is_bigendian=0,
                                                  step=step, data=pixels))
            if ros_jpeg:
                self.compressed_pub.publish(CompressedImage(header=header, format=jpeg_format,
                                                            data=jpeg))
            if want_info:
                info = self.camera_info_msg(frame)
                info.header = header
                self.info_pub.publish(info)
        except rospy.ROSException:
            if not rospy.is_shutdown():  # publishers close at shutdown, while a frame may be under way
                raise

    def log_parameters(self):
        rospy.loginfo('parameters: %s' % ', '.join('%s=%r' % item for item in sorted(self.config.items())))

    def spin(self):
        self.capture.start()
        shutdown = threading.Event()
        rospy.on_shutdown(shutdown.set)  # wakes the wait below at once: no polling
        last = {'time': rospy.get_time(), 'published': 0, 'decoded': 0, 'encoded': 0, 'bad': 0}
        while not shutdown.wait(self.config['stats_interval']):
            last = self.log_statistics(last, rospy.get_time())
        self.capture.stop()
        self.capture.join(2.0)

    def log_statistics(self, last, now):
        current = {'time': now, 'published': self.published, 'decoded': self.renderer.decoded,
                   'encoded': self.renderer.encoded, 'bad': self.capture.bad_frames}
        span = now - last['time']
        # Named: several cameras log into one roslaunch screen.
        rospy.loginfo('statistics: %.1f fps published, %d decoded, %d encoded, %d bad frames skipped '
                      'in the last %.1f s (%s)'
                      % ((current['published'] - last['published']) / span,
                         current['decoded'] - last['decoded'], current['encoded'] - last['encoded'],
                         current['bad'] - last['bad'], span, rospy.get_name()))
        return current


def main():
    signals = init_node('camera')
    node = configured(lambda: CaptureNode(read_capture_config(private_param)))
    node.log_parameters()
    warn_unknown_parameters(CAPTURE_PARAMS)
    watch_master()
    node.spin()
    signals.done()
