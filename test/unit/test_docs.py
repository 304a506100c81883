"""The README stays short and every relative link in README.md and docs/ leads somewhere.

Anchors are GitHub's: a heading's text, lower-cased, with everything but letters, digits,
`_`, `-` and spaces dropped and spaces turned into `-`; a repeated heading gets `-1`, `-2`.
Links inside code (fenced blocks and `inline code`) are text, not links. Files the text names
in `inline code` (a path under one of the repository's folders, or a test's or module's file
name) must exist too, so that a moved file cannot leave the docs pointing at nothing.
"""
import glob
import os
import re

import pytest

from support import REPO

pytestmark = pytest.mark.timeout(30)

README = os.path.join(REPO, 'README.md')
README_MAX_LINES = 300  # what a ROS user reads in a minute (issue 14)
LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)')
FENCE = re.compile(r'^```.*?^```', re.M | re.S)
INLINE_CODE = re.compile(r'`[^`\n]*`')
# `test/system/test_netns.py`, `bench/results/video_results.*`: a path in the repository's folders.
NAMED_PATH = re.compile(r'^(?:src|scripts|launch|test|tools|bench|docker|systemd|docs|\.ci)/[\w./*-]*$')
# `test_browser.py`, `fmp4.py`, `capture_faults.test`: a file of the repository named alone.
NAMED_FILE = re.compile(r'^\w+\.(?:py|test|launch|sh)$')


def markdown_files():
    return [README] + sorted(glob.glob(os.path.join(REPO, 'docs', '*.md')))


def prose(text):
    """The text with code removed, so that only real links remain."""
    return INLINE_CODE.sub('', FENCE.sub('', text))


def anchors(path):
    with open(path) as f:
        text = FENCE.sub('', f.read())
    seen = {}
    found = set()
    for heading in re.findall(r'^#{1,6}\s+(.*?)\s*#*\s*$', text, re.M):
        slug = re.sub(r'[^\w\- ]', '', heading.lower()).replace(' ', '-')
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else '%s-%d' % (slug, count))
    return found


def relative_links(path):
    with open(path) as f:
        return [target for target in LINK.findall(prose(f.read()))
                if not re.match(r'[a-z][a-z0-9+.-]*:', target)]


def test_readme_is_read_in_a_minute():
    with open(README) as f:
        lines = f.read().count('\n')
    assert lines <= README_MAX_LINES, 'README.md has %d lines, at most %d' % (lines, README_MAX_LINES)


@pytest.mark.parametrize('path', markdown_files(), ids=lambda p: os.path.relpath(p, REPO))
def test_relative_links_resolve(path):
    broken = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition('#')
        linked = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
        if not os.path.exists(linked):
            broken.append('%s (no such file)' % target)
        elif anchor and linked.endswith('.md') and anchor not in anchors(linked):
            broken.append('%s (no such heading in %s)' % (target, os.path.relpath(linked, REPO)))
    assert not broken, '%s: broken links: %s' % (os.path.relpath(path, REPO), ', '.join(broken))


def test_readme_links_every_docs_file():
    linked = set(os.path.normpath(os.path.join(REPO, target.partition('#')[0]))
                 for target in relative_links(README))
    missing = [os.path.relpath(p, REPO) for p in markdown_files()[1:] if p not in linked]
    assert not missing, 'docs files the README does not link: %s' % ', '.join(missing)


def repository_files():
    names = set()
    for folder, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d != '.git']
        names.update(files)
    return names


@pytest.mark.parametrize('path', markdown_files(), ids=lambda p: os.path.relpath(p, REPO))
def test_named_files_exist(path):
    with open(path) as f:
        named = set(code.strip('`') for code in INLINE_CODE.findall(FENCE.sub('', f.read())))
    missing = sorted(name for name in named if NAMED_PATH.match(name)
                     and not glob.glob(os.path.join(REPO, name.rstrip('/'))))
    present = repository_files()
    missing += sorted(name for name in named if NAMED_FILE.match(name) and name not in present)
    assert not missing, '%s names files that do not exist: %s' % (os.path.relpath(path, REPO), ', '.join(missing))
