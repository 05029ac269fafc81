from __future__ import annotations

import socket

from functions.dev import ports
from functions.dev.ports import free_port


def test_ports_are_outside_the_ephemeral_range_and_never_repeat() -> None:
    handed_out = [free_port() for _ in range(50)]
    assert len(set(handed_out)) == 50
    ephemeral = ports._ephemeral_range()
    assert all(port in ports.CANDIDATES and port not in ephemeral for port in handed_out)


def test_a_port_something_listens_on_is_not_handed_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        assert not ports._bindable(taken)
        with socket.socket() as other:
            other.bind(("", free_port()))  # the port handed out binds
