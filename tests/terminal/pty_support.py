"""Run the CLI on a pseudo-terminal, as a person at a terminal would (stdin, stdout and stderr a TTY)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


class Terminal:
    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.master, slave = pty.openpty()
        full_env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        full_env.update({"TERM": "xterm-256color", "COLUMNS": "120", **(env or {})})
        self.process = subprocess.Popen([sys.executable, "-m", "reconciler", *args], cwd=cwd, env=full_env,
                                        stdin=slave, stdout=slave, stderr=slave, close_fds=True)
        os.close(slave)
        self.output = b""

    def read_until(self, predicate: Callable[[bytes], bool], timeout: float = 60.0) -> bool:
        """Read until ``predicate(output)`` holds or the process ends; True when it held."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.output):
                return True
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the other end closed: the process ended
                    return bool(predicate(self.output))
                if not chunk:
                    return bool(predicate(self.output))
                self.output += chunk
        return False

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def finish(self, timeout: float = 60.0) -> int:
        self.read_until(lambda _: self.process.poll() is not None, timeout)
        code = self.process.wait(timeout)
        self.read_until(lambda _: False, 0.2)  # what is left in the buffer
        os.close(self.master)
        return code

    @property
    def text(self) -> str:
        return self.output.decode("utf-8", "replace")
