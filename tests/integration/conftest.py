"""Shared harness for the integration tests.

Each test gets the real `pillarbox` binary started on 127.0.0.1 with its own
data directory and free ports, driven by real clients. Nothing here talks to
anything but loopback.

Fixtures:
  server       -- a running server with user "alice" (password "secret").
  make_server  -- factory: make_server(config={...}, users={...}, start=True).
  pillarbox    -- path of the binary.
"""

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

BIN = os.environ.get("PILLARBOX_BIN", os.path.join(os.path.dirname(__file__), "../../build/pillarbox"))
SOURCE_DIR = os.environ.get("PILLARBOX_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "../..")))
START_TIMEOUT = 15.0

_reserved_ports = set()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now (and that this
    process has not handed out before)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _reserved_ports:
            _reserved_ports.add(port)
            return port
    raise RuntimeError("no free port")


def require_program(name):
    """Fails the test when a client program is missing: ./test.sh installs
    every one (scripts/deps.sh --test), so missing is a broken setup, not a
    reason to skip."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (scripts/deps.sh --test installs it)")
    return path


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + s + '"'


def unverified_ssl_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Server:
    """One pillarbox process with its own directory, config and ports."""

    PROTOCOLS = ("imap", "imaps", "pop3", "pop3s", "lmtp", "smtp", "http")

    def __init__(self, workdir, config=None, ephemeral=False):
        """`ephemeral`: the server binds port 0 and reports the ports it got
        (serve --ports-file), so that parallel test runs cannot race for a
        port; `ports` is known only after the first start, which then keeps
        them in the config for restarts. Otherwise the ports are picked
        here (free_port), for tests that need them before the start."""
        self.workdir = workdir
        self.data_dir = os.path.join(workdir, "data")
        self.config_path = os.path.join(workdir, "pillarbox.toml")
        self.log_path = os.path.join(workdir, "server.log")
        self.ports_path = os.path.join(workdir, "ports.json")
        self.ephemeral = ephemeral
        self.ports = {p: 0 if ephemeral else free_port() for p in self.PROTOCOLS}
        self.proc = None
        self._log = None
        sections = {
            "server": {"data_dir": self.data_dir},
            "imap": {"listen": [f"127.0.0.1:{self.ports['imap']}"],
                     "tls_listen": [f"127.0.0.1:{self.ports['imaps']}"]},
            "pop3": {"listen": [f"127.0.0.1:{self.ports['pop3']}"],
                     "tls_listen": [f"127.0.0.1:{self.ports['pop3s']}"]},
            "lmtp": {"listen": [f"127.0.0.1:{self.ports['lmtp']}"]},
            "smtp": {"listen": [f"127.0.0.1:{self.ports['smtp']}"]},
            "http": {"listen": [f"127.0.0.1:{self.ports['http']}"]},
            "auth": {"failure_delay": "100ms", "max_failure_delay": "200ms"},
            "log": {"level": "debug", "transcripts": True},
        }
        for section, values in (config or {}).items():
            sections.setdefault(section, {}).update(values)
        self.sections = sections
        # TOML appended verbatim after the sections ([[faults]] tables, say).
        self.extra_toml = ""
        self.write_config()

    def write_config(self):
        lines = []
        for section, values in self.sections.items():
            lines.append(f"[{section}]")
            for k, v in values.items():
                lines.append(f"{k} = {toml_value(v)}")
            lines.append("")
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + self.extra_toml)

    # --- the command line -------------------------------------------------
    def cli(self, *args, input=None, check=True, timeout=60):
        """Runs `pillarbox ARGS --config FILE`; returns CompletedProcess."""
        cmd = [BIN, *args, "--config", self.config_path]
        # No input: stdin is not the terminal of whoever runs the tests, so
        # commands that ask a person (user del) do not wait for one.
        r = subprocess.run(cmd, input=input, stdin=None if input is not None else subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"{cmd} exited {r.returncode}: {r.stderr.decode(errors='replace')}")
        return r

    def add_user(self, name, password):
        self.cli("user", "add", name, "--password-stdin", input=(password + "\n").encode())

    def deliver(self, user, message, mailbox=None):
        if isinstance(message, str):
            message = message.encode()
        args = ["deliver", "--user", user]
        if mailbox:
            args += ["--mailbox", mailbox]
        return self.cli(*args, input=message)

    # --- the process ------------------------------------------------------
    def start(self):
        assert self.proc is None
        self._log = open(self.log_path, "ab")
        cmd = [BIN, "serve", "--config", self.config_path]
        if self.ephemeral:
            if os.path.exists(self.ports_path):
                os.unlink(self.ports_path)
            cmd += ["--ports-file", self.ports_path]
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + START_TIMEOUT
        if self.ephemeral:
            self._learn_ports(deadline)
        for proto in ("imap", "pop3", "lmtp", "smtp"):
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError(f"pillarbox exited {self.proc.returncode} at start:\n{self.log()}")
                try:
                    with socket.create_connection(("127.0.0.1", self.ports[proto]), timeout=1) as s:
                        s.settimeout(2)
                        if s.recv(1):
                            break
                except OSError:
                    pass
                if time.time() > deadline:
                    raise AssertionError(f"pillarbox did not open {proto} in time:\n{self.log()}")
                time.sleep(0.05)
        return self

    def _learn_ports(self, deadline):
        """Waits for the ports file (written once every listener is bound),
        takes the ports from it and writes them into the config, so that a
        restart listens on the same ports."""
        while not os.path.exists(self.ports_path):
            if self.proc.poll() is not None:
                raise AssertionError(f"pillarbox exited {self.proc.returncode} at start:\n{self.log()}")
            if time.time() > deadline:
                raise AssertionError(f"pillarbox did not write {self.ports_path} in time:\n{self.log()}")
            time.sleep(0.02)
        with open(self.ports_path) as f:
            bound = json.load(f)
        self.ports.update(bound)
        for section, key, proto in (("imap", "listen", "imap"), ("imap", "tls_listen", "imaps"),
                                    ("pop3", "listen", "pop3"), ("pop3", "tls_listen", "pop3s"),
                                    ("lmtp", "listen", "lmtp"), ("smtp", "listen", "smtp"),
                                    ("http", "listen", "http")):
            values = self.sections.get(section, {}).get(key)
            if proto in bound and isinstance(values, list):
                self.sections[section][key] = [f"127.0.0.1:{bound[proto]}" if v == "127.0.0.1:0" else v
                                               for v in values]
        self.write_config()
        self.ephemeral = False

    def stop(self, timeout=10):
        """SIGTERM and wait; returns the exit status."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"pillarbox did not stop within {timeout}s:\n{self.log()}")
        self.proc = None
        return rc

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")[-20000:]
        except OSError:
            return ""

    # --- connections --------------------------------------------------------
    def connect(self, proto, timeout=10):
        return socket.create_connection(("127.0.0.1", self.ports[proto]), timeout=timeout)


@pytest.fixture
def pillarbox():
    assert os.path.exists(BIN), f"binary not built: {BIN}"
    return BIN


@pytest.fixture
def make_server(pillarbox, tmp_path):
    servers = []

    def make(config=None, users=None, start=True):
        workdir = tempfile.mkdtemp(prefix="srv-", dir=tmp_path)
        # A server started here gets its ports from the kernel (port 0); one
        # started later by the test has them chosen now, for its config.
        srv = Server(workdir, config, ephemeral=start)
        # Only `serve` and `init` create a store; users are added before the start.
        srv.cli("init")
        for name, password in (users if users is not None else {"alice": "secret"}).items():
            srv.add_user(name, password)
        if start:
            srv.start()
        servers.append(srv)
        return srv

    yield make
    for srv in servers:
        try:
            if srv.proc is not None:
                srv.stop()
        except AssertionError:
            srv.kill()
            raise


@pytest.fixture
def server(make_server):
    return make_server()


def read_line(sock):
    """One line from a raw socket (up to and with its LF; shorter at EOF)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


def read_until_closed(sock, timeout=5):
    """Everything the server sends until it closes, bounded in time.
    Returns (data, closed): closed is True only for an orderly close."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            chunk = sock.recv(4096)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            return data, True
        data += chunk
    return data, False


def wait_for(predicate, timeout=10.0, interval=0.05, what="condition"):
    """Polls `predicate` until true; bounded in time."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def message(subject="Hello", body="Hello world.\r\n", sender="bob@example.org", to="alice@example.org",
            extra_headers=""):
    """A small RFC 5322 message with CRLF line endings."""
    return (f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: Thu, 26 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}.{time.time_ns()}@example.org>\r\n"
            f"{extra_headers}\r\n{body}")
