"""The /health numbers: per topic, per output, per client, and totals, from the fan-out's public state."""
import threading
import time

from camera_server.compat import monotonic


def client_stats(client):
    return {'id': client.id, 'request': client.description, 'topic': client.output.feed.topic,
            'frames_sent': client.frames_sent, 'frames_dropped': client.frames_dropped,
            'connected_s': round(monotonic() - client.started, 1)}


def feed_stats(feed):
    width, height = feed.picture_size() or (None, None)
    outputs = feed.current_outputs()
    return {'topic': feed.topic, 'message_type': feed.msg_type, 'width': width, 'height': height,
            'input_fps': round(feed.input.rate(), 2), 'messages_total': feed.input.total,
            'last_message_age_s': round(monotonic() - feed.last_message_at, 2),
            'clients': sum(o.client_count for o in outputs), 'outputs': [o.stats() for o in outputs]}


def hub_stats(hub, topic_extra=lambda feed: {}):
    """Per topic (plus ``topic_extra(feed)``), per output, per client, and totals."""
    feeds, clients, retired = hub.snapshot()
    topics = [dict(feed_stats(feed), **topic_extra(feed)) for feed in feeds]
    outputs = [out for topic in topics for out in topic['outputs']]
    return {'clients': len(clients), 'subscriptions': len(feeds),
            'encodes_per_s': round(sum(o['encodes_per_s'] for o in outputs), 2),
            'encodes_total': retired + sum(o['encodes_total'] for o in outputs),
            'topics': topics, 'client_list': [client_stats(c) for c in clients]}


def health_report(hub, liveness, started, max_clients):
    """The /health document of a server that started at ``started`` (monotonic)."""
    stats = hub_stats(hub, liveness.topic_state)
    # time: the server's wall clock, so a page can tell its clock's offset from the stamps'.
    stats.update(status='ok', time=time.time(), uptime_s=round(monotonic() - started, 1),
                 stale_topics=[t['topic'] for t in stats['topics'] if t['stale']],
                 threads=threading.active_count(), max_clients=max_clients)
    return stats
