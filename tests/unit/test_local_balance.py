"""Spreading connections over the worker processes: counts in shared memory, and the accept
rule each worker applies to them."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from functions.local.server import default_workers
from functions.local.workers import RECHECK_S, Shares, balance


def test_two_workers_per_cpu_by_default_and_never_more_than_eight() -> None:
    assert [default_workers(cpus) for cpus in (1, 2, 3, 4, 16)] == [2, 4, 6, 8, 8]
    assert default_workers() >= 2  # this machine's own count


def test_a_worker_accepts_only_while_no_other_holds_fewer_connections() -> None:
    shares = Shares(3)
    assert shares.may_accept(0, 0)  # nobody holds any: everyone may
    assert not shares.may_accept(0, 4)  # the other two hold none
    assert shares.held() == [4, 0, 0]
    assert not shares.may_accept(1, 3)  # the third still holds none
    assert shares.may_accept(2, 3)
    assert shares.may_accept(1, 3)  # a tie: both may take the next one
    assert not shares.may_accept(0, 4)
    assert shares.may_accept(0, 3)  # one of its clients left


@pytest.mark.skipif(not hasattr(os, "fork"), reason="workers are forked processes")
def test_the_counts_are_seen_across_fork() -> None:
    shares = Shares(2)
    pid = os.fork()
    if pid == 0:  # the worker: counts itself, then leaves at once
        shares.may_accept(1, 7)
        os._exit(0)
    os.waitpid(pid, 0)
    assert shares.held() == [0, 7]


def test_a_balanced_server_still_keeps_waitress_s_own_connection_limit() -> None:
    under_limit = [True]
    server = SimpleNamespace(
        readable=lambda: under_limit[0],
        _map={"listener": 0, "trigger": 1, "client": 2},
        adj=SimpleNamespace(asyncore_loop_timeout=1.0),
    )
    shares = Shares(2)
    balance(server, shares, 0)
    assert server.adj.asyncore_loop_timeout == RECHECK_S
    shares.may_accept(1, 3)
    assert server.readable()  # 3 each
    under_limit[0] = False
    assert not server.readable()  # at waitress's limit, whatever the counts
    under_limit[0] = True
    server._map["another"] = 3
    assert not server.readable()  # 4 against 3
