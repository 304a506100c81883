"""docker/Dockerfile read as Docker reads it, for the tests of the Dockerfile and of the dependencies."""
import os
import re
import shlex

from support import REPO

DOCKER_DIR = os.path.join(REPO, 'docker')


def dockerfile_instructions():
    """[(KEYWORD, arguments)] of docker/Dockerfile: comment lines dropped, continuations joined."""
    with open(os.path.join(DOCKER_DIR, 'Dockerfile')) as dockerfile:
        lines = [line for line in dockerfile if not line.lstrip().startswith('#')]
    text = re.sub(r'\\\n', '', ''.join(lines))
    instructions = []
    for line in text.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(' ')
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def build_arguments():
    """{name: default} of the ARGs after FROM: what the RUN steps see in their environment."""
    instructions = dockerfile_instructions()
    stage = [i for i, (keyword, _) in enumerate(instructions) if keyword == 'FROM'][0]
    return dict(shlex.split(arguments)[0].split('=', 1) for keyword, arguments in instructions[stage:]
                if keyword == 'ARG')
