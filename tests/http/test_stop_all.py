"""tools.processes.stop_all and interrupt_on_signals: an interrupted bench stops every server
at once and cleans up, instead of 10 s per server one after another, and a second Ctrl-C does
not cut the cleanup short (issue 28: Ctrl-C during make bench)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tools.processes import ROOT, Server, free_port, stop_all

# Each stand-in, on SIGTERM, marks a shared folder and exits only once all three have marked
# it: stopped one by one, the first would wait for the others' SIGTERM, never come, and be
# killed (-9) after 10 s; stopped together, all three exit on their own (0).
STANDIN = """
import os, signal, sys, time, socket
marks = sys.argv[1]
def term(*_):
    open(os.path.join(marks, str(os.getpid())), "w").close()
    while len(os.listdir(marks)) < 3:
        time.sleep(0.01)
    sys.exit(0)
signal.signal(signal.SIGTERM, term)
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[2]))); s.listen()
while True:
    time.sleep(1)
"""


def test_every_server_gets_its_sigterm_before_any_is_waited_for(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    servers = []
    for n in range(3):
        port = free_port()
        argv = [sys.executable, "-c", STANDIN, str(marks), str(port)]
        servers.append(Server(f"standin-{n}", argv, port, tmp_path).wait_for_port())
    stop_all(servers, timeout=60)  # the bound only a broken stop_all would reach
    assert [s.process.returncode for s in servers] == [0, 0, 0]
    assert len(list(marks.iterdir())) == 3


# A run shaped like `make bench`'s (bench/__main__.py): a server and a temporary folder, each
# cleaned up by a `finally`/`with`, under tools.processes.interrupt_on_signals. Its cleanup waits
# for a line on stdin, so a test can send a second signal in the middle of it.
RUN = """
import os, sys, tempfile, time
from pathlib import Path
from tools.processes import Server, free_port, interrupt_on_signals
interrupt_on_signals(lambda line: print(line, flush=True))
try:
    with tempfile.TemporaryDirectory(dir=sys.argv[1]) as tmp:
        port = free_port()
        argv = [sys.executable, "-c", "import time\\nwhile True: time.sleep(1)"]
        server = Server("sleeper", argv, port, Path(tmp))
        open(os.path.join(tmp, "big"), "wb").write(b"x" * 1000)
        try:
            print("running", server.process.pid, flush=True)  # inside: its finally will run
            while True:
                time.sleep(1)
        finally:
            print("cleaning up", flush=True)
            sys.stdin.readline()
            server.stop()
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


def ignoring_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as nohup or `cmd &` in a script start it


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_a_signal_stops_the_run_and_a_second_one_does_not_cut_its_cleanup_short(
    tmp_path: Path, sig: signal.Signals
) -> None:
    run = subprocess.Popen(
        [sys.executable, "-c", RUN, str(tmp_path)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=ignoring_sigint,
    )
    assert run.stdin is not None
    assert run.stdout is not None
    _, pid = run.stdout.readline().split()
    run.send_signal(sig)  # SIGINT although the process started with it ignored
    assert run.stdout.readline() == "cleaning up\n"
    run.send_signal(sig)  # a second one, in the middle of the cleanup: said, not obeyed
    assert run.stdout.readline() == "still stopping servers and removing temporary files ...\n"
    run.stdin.write("go on\n")
    run.stdin.flush()
    assert run.stdout.readline() == "interrupted\n"
    assert run.wait(timeout=60) == 130
    assert list(tmp_path.iterdir()) == []  # the temporary folder went with it
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid), 0)  # and the server
