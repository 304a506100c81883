"""The test support's own promises: a wait on a silent subprocess ends at its deadline."""
import subprocess
import time

from support.output_lines import OutputLines


def test_a_silent_process_does_not_hold_a_wait_past_its_deadline():
    silent = subprocess.Popen(['sh', '-c', 'echo started; exec sleep 30'], stdout=subprocess.PIPE, text=True)
    try:
        said = OutputLines(silent.stdout)
        assert said.read_until(lambda line: 'started' in line, 10) == 'started\n', said.lines
        started = time.time()
        assert said.read_until(lambda line: 'never' in line, 0.5) is None
        waited = time.time() - started
        assert 0.5 <= waited < 3.0, 'a 0.5 s wait on a silent process took %.2f s' % waited
    finally:
        silent.kill()
        silent.wait(5)
    assert said.read_to_end(5), 'the end of the output not seen 5 s after the process was killed'
