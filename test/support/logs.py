"""A log funnel (the capture thread's, the web server's) that keeps what it was told."""


class RecordingLog(object):
    """Kept as (level, text) pairs, so that tests can assert on what was said."""

    def __init__(self):
        self.lines = []

    def _record(self, level):
        return lambda text: self.lines.append((level, text))

    def __getattr__(self, level):
        if level not in ('debug', 'info', 'warning', 'error'):
            raise AttributeError(level)
        return self._record(level)

    def said(self, words, level=None):
        """The lines containing ``words`` (at ``level`` when given)."""
        return [text for lvl, text in list(self.lines) if words in text and level in (None, lvl)]

    def count(self, level, words):
        return len(self.said(words, level))
