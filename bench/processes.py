"""What the benchmarks that start `pitcrew serve` processes share: starting and stopping them,
waiting for their port, their CPU time, and an environment free of the caller's pitcrew settings."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from pathlib import Path

from app.settings import Settings

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 30.0


class Processes:
    """Every process this run started, so that all of them are stopped at the end, even on error."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], *, env: dict[str, str], log: Path | None = None) -> subprocess.Popen[bytes]:
        """Start `args` with its output in `log`, or with stdout piped to us when there is no log."""
        if log is None:
            proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE)
        else:
            with open(log, "wb") as out:  # the child keeps its own copy of the descriptor
                proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.started.append(proc)
        return proc

    @staticmethod
    def stop(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            self.stop(proc)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, all its threads included (aiosqlite runs in threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server not listening on {port} after {START_TIMEOUT_S:g} s")


def base_env() -> dict[str, str]:
    """This environment without any of pitcrew's variables, so that nothing of the caller's leaks in."""
    env = {k: v for k, v in os.environ.items() if k not in Settings.model_fields}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env
