"""The one size rule of the package: an asked width and height against a picture's own size."""


def fit_size(width, height, asked_width, asked_height):
    """(width, height) of a ``width`` x ``height`` picture asked to be ``asked_width`` x ``asked_height``.

    A side <= 0 is not asked for: both not asked keep the picture's size, one asked keeps the
    aspect ratio (never below one pixel).
    """
    if asked_width > 0 and asked_height > 0:
        return asked_width, asked_height
    if asked_width > 0:
        return asked_width, max(1, int(round(height * asked_width / float(width))))
    if asked_height > 0:
        return max(1, int(round(width * asked_height / float(height)))), asked_height
    return width, height
