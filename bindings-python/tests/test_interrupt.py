"""Ctrl-C still works while Python waits on the engine: the JVM runs with -Xrs, result() waits
in short slices so the main thread sees the signal, and a start blocked on peers that are down
is interrupted by the close that follows."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from cluster import HERE, child_env, free_ports


def test_sigint_raises_keyboard_interrupt_during_result() -> None:
    _interrupt("result")


def test_sigint_raises_keyboard_interrupt_during_a_blocked_start() -> None:
    # The start would wait up to 600 s for its dead peers: the process ends well before only if
    # the close that `with` runs on KeyboardInterrupt interrupts it.
    _interrupt("start")


def _interrupt(during: str) -> None:
    ports = free_ports(3)
    process = subprocess.Popen(
        [sys.executable, str(HERE / "interrupt_process.py"), during, *map(str, ports)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=child_env(),
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "waiting\n"
        time.sleep(1)  # let the main thread enter result() or start(); an earlier SIGINT would pass too
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # An uncaught KeyboardInterrupt: its traceback (the engine may log after it while the
    # node closes), and death by SIGINT after the clean-up.
    assert "Traceback" in stderr and "\nKeyboardInterrupt\n" in stderr, stderr[-2000:]
    assert "result returned" not in stdout and "started" not in stdout
    assert process.returncode == -signal.SIGINT
