#!/usr/bin/env python3
"""Plays systemd for the restart test: a `.socket` unit holding the listening socket and a
`Type=notify` service restarted the way `systemctl restart` does it (stop, then start).

It binds the port once and passes it to each `shoestring serve` as fd 3 (LISTEN_FDS=1,
LISTEN_PID), with NOTIFY_SOCKET pointing at its own datagram socket. A restart sends SIGTERM,
waits for STOPPING=1 and the exit (status 0 expected), then starts the new process and waits for
READY=1; meanwhile the kernel queues new connections on the socket, as it does under systemd.
One more restart, once the test has stopped its load (`slow-go`), has a slow request (its body
sent over ~2 s) in flight: it must end with 200.
Every wait is bounded. Prints nothing; writes a JSON report. Standard library only.
"""

import argparse
import json
import os
import signal
import socket
import threading
import time

STOP_LIMIT = 40  # seconds: above LAME_DUCK_MS + SHUTDOWN_GRACE_SECS, as TimeoutStopSec is
READY_LIMIT = 60


def spawn(args, listener, notify_path):
    """Starts `BIN serve` with the socket as fd 3; returns its PID."""
    log = os.open(args.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.dup2(listener.fileno(), 3)
            # dup2 onto the same number leaves close-on-exec set: the socket may already be fd 3.
            os.set_inheritable(3, True)
            env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID=str(os.getpid()), NOTIFY_SOCKET=notify_path)
            os.execve(args.bin, [args.bin, "serve"], env)
        finally:
            os._exit(127)
    os.close(log)
    return pid


def expect_notice(notify, wanted, limit):
    """Waits for a notice line `wanted` (e.g. READY=1); True if it came within `limit` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        notify.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            message = notify.recv(4096).decode(errors="replace")
        except socket.timeout:
            return False
        if wanted in message.split():
            return True
    return False


def wait_exit(pid, limit):
    """The exit status of `pid`, or None if it still runs after `limit` seconds (then killed)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


class SlowRequest(threading.Thread):
    """A POST whose body arrives in pieces over ~2 s; `status` is the answer's status code."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.status, self.in_flight = port, None, threading.Event()

    def run(self):
        body = b'{"query": "{ posts { count } }"' + b" " * 2000 + b"}"
        head = (
            "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=30) as conn:
                conn.sendall(head + body[:100])
                self.in_flight.set()
                for start in range(100, len(body), 100):
                    time.sleep(0.1)
                    conn.sendall(body[start : start + 100])
                answer = b""
                while chunk := conn.recv(65536):
                    answer += chunk
            self.status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0
        except OSError as error:
            self.status = f"error: {error}"
        self.in_flight.set()


def restart(args, state, number, with_slow_request=False):
    """One restart the systemd way; returns its record (gap = SIGTERM until READY)."""
    slow = SlowRequest(args.port) if with_slow_request else None
    if slow:
        slow.start()
        slow.in_flight.wait(10)
        time.sleep(0.3)  # its headers parsed: a request in flight, not a connection being opened
    began = time.monotonic()
    os.kill(state["pid"], signal.SIGTERM)
    stopping = expect_notice(state["notify"], "STOPPING=1", 5)
    code = wait_exit(state["pid"], STOP_LIMIT)
    stopped = time.monotonic()
    state["pid"] = spawn(args, state["listener"], state["notify_path"])
    ready = expect_notice(state["notify"], "READY=1", READY_LIMIT)
    record = {
        "restart": number,
        "stopping_notice": stopping,
        "exit_code": code,
        "ready_notice": ready,
        "stop_s": round(stopped - began, 3),
        "gap_s": round(time.monotonic() - began, 3),
    }
    if slow:
        slow.join(30)
        record["slow_request_status"] = slow.status
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--work", required=True, help="scratch folder: the notice socket, the go file, the report")
    parser.add_argument("--restarts", type=int, default=10)
    parser.add_argument("--settle", type=float, default=2.0, help="seconds of steady serving before each restart")
    parser.add_argument("--log", required=True)
    args = parser.parse_args()

    stop = Stop()
    signal.signal(signal.SIGTERM, stop.handle)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(1024)
    notify_path = os.path.join(args.work, "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    state = {"listener": listener, "notify": notify, "notify_path": notify_path}
    report = {"first_ready": False, "restarts": []}
    state["pid"] = spawn(args, listener, notify_path)
    report["first_ready"] = expect_notice(notify, "READY=1", READY_LIMIT)
    write(args.work, "ready", report)

    # The test starts its load, then creates `go`; restarts begin 2 s later.
    go = os.path.join(args.work, "go")
    deadline = time.monotonic() + 120
    while report["first_ready"] and not os.path.exists(go) and time.monotonic() < deadline and not stop.asked:
        time.sleep(0.05)
    for number in range(1, args.restarts + 1 if os.path.exists(go) else 1):
        if stop.wait(args.settle):
            break
        report["restarts"].append(restart(args, state, number))
    write(args.work, "restarted", report)

    deadline = time.monotonic() + 120
    while not os.path.exists(os.path.join(args.work, "slow-go")) and time.monotonic() < deadline and not stop.asked:
        time.sleep(0.05)
    if os.path.exists(os.path.join(args.work, "slow-go")):
        report["slow_restart"] = restart(args, state, args.restarts + 1, with_slow_request=True)
    write(args.work, "slow-done", report)

    stop.wait(300)
    os.kill(state["pid"], signal.SIGTERM)
    report["final_exit_code"] = wait_exit(state["pid"], STOP_LIMIT)
    write(args.work, "report.json", report)


class Stop:
    """SIGTERM to the supervisor: a flag polled by short sleeps (an Event set from a signal
    handler can deadlock against the main thread waiting on it)."""

    asked = False

    def handle(self, *_):
        self.asked = True

    def wait(self, seconds):
        """Sleeps up to `seconds`; True if SIGTERM came."""
        deadline = time.monotonic() + seconds
        while not self.asked and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.asked


def write(work, name, report):
    with open(os.path.join(work, name + ".tmp"), "w") as out:
        json.dump(report, out, indent=1)
    os.replace(os.path.join(work, name + ".tmp"), os.path.join(work, name))


if __name__ == "__main__":
    main()
