"""An HTML page checked as a browser would need it: every element closed in order."""
from html.parser import HTMLParser

VOID = {'meta', 'img', 'br', 'input', 'link', 'hr', 'source'}


class PageParser(HTMLParser):
    """Checks that every element is closed in order, and collects texts, links and scripts."""

    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.open, self.problems, self.links, self.scripts, self.texts = [], [], [], [], {}
        self.doctype = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        if tag == 'a':
            self.links.append(dict(attrs)['href'])
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.problems.append('</%s> closes %s' % (tag, self.open[-1:] or 'nothing'))
        else:
            self.open.pop()

    def handle_data(self, data):
        if self.open:
            if self.open[-1] == 'script':
                self.scripts.append(data)
            self.texts.setdefault(self.open[-1], []).append(data)


def parse(page):
    parser = PageParser()
    parser.feed(page)
    parser.close()
    assert parser.doctype == 'DOCTYPE html', parser.doctype
    assert not parser.problems and not parser.open, (parser.problems, parser.open)
    return parser
