"""A sandbox in its own process that can SIGKILL the apply talking to it at an exact point.

The sandbox is forked before it starts any thread, and the applies are forked from the test
process (which then runs no server thread), so an apply process starts in milliseconds instead
of re-importing boto3, and killing it leaves the sandbox's state exactly as AWS would have it.

Kill points are counted in successful writes the sandbox has answered: "kill after write N"
kills the apply while the N-th write has taken effect but before its response is sent - the
worst moment, when the client cannot know whether the write happened. "Kill before write N"
kills it with the request in flight but not applied.

The sandbox also watches every DeleteOptedOutNumber: one that names an end-user opt-out is a
violation, counted whether or not the sandbox accepts it.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import scenario

READS = ("Describe", "List", "Get")


def _operation(request: Any) -> str:
    """The API operation: from X-Amz-Target (sms-voice, JSON) or the path (RAM, REST)."""
    target = request.headers.get("x-amz-target") or ""
    if target:
        return str(target).rsplit(".", 1)[-1]
    return str(request.path).strip("/").split("/", 1)[0]


def _is_write(service: str, operation: str) -> bool:
    if service == "pinpoint-sms-voice-v2":
        return not operation.startswith(READS)
    if service == "ram":
        return not operation.lower().startswith(("get", "list"))
    return False


def _serve(conn: Connection, shared: dict[str, Any], end_user: list[str]) -> None:
    from reconciler.sandbox import Sandbox
    from reconciler.sandbox.server import start_in_thread

    sandbox = Sandbox(world=scenario.new_world())
    gateway = sandbox.gateway
    original = gateway.handle
    protected = set(end_user)
    write_log: list[str] = []  # the app id (AWS_SDK_UA_APP_ID) of each successful write, in order

    def kill_if_armed(before: bool) -> None:
        pid = shared["pid"].value
        if pid and shared["before"].value == before and shared["writes"].value + (1 if before else 0) >= shared["at"].value:
            shared["pid"].value = 0
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            shared["kills"].value += 1
            time.sleep(0.05)  # let the kill land before anything else is answered

    def handle(service: str, request: Any) -> Any:
        operation = _operation(request)
        write = _is_write(service, operation)
        if operation == "DeleteOptedOutNumber":
            number = json.loads(request.body or b"{}").get("OptedOutNumber")
            if number in protected:
                shared["violations"].value += 1
        if write:
            with shared["lock"]:
                kill_if_armed(before=True)
        response = original(service, request)
        if write and response.status < 400:
            agent = str(request.headers.get("user-agent") or "")
            app = next((part[4:] for part in agent.split() if part.startswith("app/")), "?")
            with shared["lock"]:
                write_log.append(app)
                shared["writes"].value += 1
                kill_if_armed(before=False)
        return response

    gateway.handle = handle  # type: ignore[method-assign]
    server, _ = start_in_thread(gateway)
    conn.send(server.endpoint)
    while True:
        command = conn.recv()
        if command == "reset":
            with sandbox.world.lock:
                sandbox.world.regions.clear()
                scenario.seed_world(sandbox.world)
            conn.send("ok")
        elif command == "state":
            with sandbox.world.lock:
                state = sandbox.world.region(scenario.ACCOUNT, scenario.REGION)
                conn.send(
                    {
                        "opt_outs": {
                            name: {number: entry.end_user_opted_out for number, entry in lst.entries.items()}
                            for name, lst in state.opt_out_lists.items()
                        },
                        "share_names": sorted(share.name for share in state.resource_shares.values()),
                        "protect_names": sorted(
                            state.tags.get(pc.arn, {}).get("Name", "") for pc in state.protect_configurations.values()
                        ),
                    }
                )
        elif command == "write_log":
            conn.send(list(write_log))
            write_log.clear()
        elif command == "stop":
            server.shutdown()
            conn.send("ok")
            return


@dataclass
class Run:
    pid: int
    log: str
    started: float


class CrashBox:
    def __init__(self) -> None:
        ctx = multiprocessing.get_context("fork")
        self.shared = {
            "pid": ctx.Value("i", 0, lock=False),
            "at": ctx.Value("i", 0, lock=False),
            "before": ctx.Value("b", 0, lock=False),
            "writes": ctx.Value("i", 0, lock=False),
            "kills": ctx.Value("i", 0, lock=False),
            "violations": ctx.Value("i", 0, lock=False),
            "lock": ctx.Lock(),
        }
        self.conn, child = ctx.Pipe()
        protected = [*scenario.END_USER, "+12065550142"]
        self.process = ctx.Process(target=_serve, args=(child, self.shared, protected), daemon=True)
        self.process.start()
        self.endpoint: str = self.conn.recv()

    def env(self, config: str, lock_dir: str) -> dict[str, str]:
        return scenario.cli_env(self.endpoint, session_token=False, RECONCILER_LOCK_URL=lock_dir)

    def reset(self) -> None:
        self.conn.send("reset")
        assert self.conn.recv() == "ok"

    def state(self) -> dict[str, Any]:
        self.conn.send("state")
        return self.conn.recv()  # type: ignore[no-any-return]

    def write_log(self) -> list[str]:
        """Which client (its AWS_SDK_UA_APP_ID) made each write since the last call, in order."""
        self.conn.send("write_log")
        return self.conn.recv()  # type: ignore[no-any-return]

    @property
    def writes(self) -> int:
        return int(self.shared["writes"].value)

    @property
    def violations(self) -> int:
        return int(self.shared["violations"].value)

    @property
    def kills(self) -> int:
        return int(self.shared["kills"].value)

    def arm(self, pid: int, writes_from_now: int, before: bool) -> None:
        with self.shared["lock"]:
            self.shared["at"].value = self.writes + writes_from_now
            self.shared["before"].value = 1 if before else 0
            self.shared["pid"].value = pid

    def disarm(self) -> None:
        with self.shared["lock"]:
            self.shared["pid"].value = 0

    def close(self) -> None:
        self.conn.send("stop")
        self.conn.recv()
        self.process.join(timeout=10)


def start_cli(argv: list[str], env: dict[str, str], log: str, arm: Callable[[int], None] | None = None) -> Run:
    """Fork a process running ``reconciler ARGV`` with ``env``; its output goes to ``log``.

    ``arm(pid)`` runs after the child exists and before it starts, so a kill can be set up
    for it without a race.
    """
    ready_read, ready_write = os.pipe()
    go_read, go_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never return into the test runner
        code = 1
        try:
            os.close(ready_read)
            os.close(go_write)
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the child's own stdio
            sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
            os.environ.clear()
            os.environ.update(env)
            os.write(ready_write, b"x")
            os.read(go_read, 1)
            from reconciler.cli import main

            code = main(argv)
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(ready_write)
    os.close(go_read)
    os.read(ready_read, 1)
    os.close(ready_read)
    if arm is not None:
        arm(pid)
    os.write(go_write, b"x")
    os.close(go_write)
    return Run(pid, log, time.monotonic())


def wait(run: Run, timeout: float = 60.0) -> int:
    """The exit code, or ``-signal`` when it was killed."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status = os.waitpid(run.pid, os.WNOHANG)
        if pid:
            return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        if time.monotonic() > deadline:
            os.kill(run.pid, signal.SIGKILL)
            os.waitpid(run.pid, 0)
            raise TimeoutError(f"reconciler did not finish in {timeout}s; see {run.log}")
        time.sleep(0.01)
