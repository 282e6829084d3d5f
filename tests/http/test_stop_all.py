"""tools.processes.stop_all: an interrupted bench stops every server at once and cleans up,
instead of 10 s per server one after another (issue 28: Ctrl-C during make bench)."""

from __future__ import annotations

import sys
from pathlib import Path

from tools.processes import Server, free_port, stop_all

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
