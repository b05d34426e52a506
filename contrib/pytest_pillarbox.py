"""pytest fixtures that run Pillarbox as a throw-away mail server for tests.

Copy this one file next to your tests (or install it as a plugin with
``pytest -p pytest_pillarbox``). It needs only the standard library and the
``pillarbox`` binary: ``$PILLARBOX_BIN``, else ``pillarbox`` on ``$PATH``.

Fixtures:
  pillarbox_session_server -- one ``pillarbox serve --ephemeral`` for the
                              whole test session
  pillarbox_server         -- the same server, reset (empty) before each test

Example::

    import imaplib
    from pytest_pillarbox import pillarbox_server, pillarbox_session_server  # noqa: F401

    def test_reads_seeded_mail(pillarbox_server):
        srv = pillarbox_server
        srv.create_user("alice", "secret")
        srv.seed("alice", b"Subject: hi\\r\\n\\r\\nhello\\r\\n")
        imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"])
        imap.login("alice", "secret")
        ...

The server object has ``ports`` ({"imap", "imaps", "pop3", "pop3s", "lmtp",
"smtp", "http"}), ``token``, ``data_dir``, and the API helpers
``create_user``, ``seed``, ``reset``, ``wait`` and ``api``.
"""

import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

START_TIMEOUT = 15.0


class PillarboxError(RuntimeError):
    """An API call answered with an error status."""

    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


class PillarboxServer:
    """A running ``pillarbox serve --ephemeral``."""

    def __init__(self, binary=None, args=(), env=None):
        self.binary = binary or os.environ.get("PILLARBOX_BIN") or shutil.which("pillarbox")
        if not self.binary:
            raise RuntimeError("pillarbox not found: set PILLARBOX_BIN or put it on PATH")
        full_env = dict(os.environ)
        full_env.update(env or {})
        # The log goes to a file: a pipe nobody reads would stop the server
        # once full.
        self._log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [self.binary, "serve", "--ephemeral", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._log, env=full_env)
        line = self._read_ready_line()
        ready = json.loads(line)
        self.ports = ready["ports"]
        self.token = ready["token"]
        self.data_dir = ready["data_dir"]
        self.host = "127.0.0.1"
        self.base_url = f"http://{self.host}:{self.ports['http']}"

    def _read_ready_line(self):
        deadline = time.monotonic() + START_TIMEOUT
        buf = b""
        fd = self.proc.stdout.fileno()
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("pillarbox did not start: " + self.stderr_text()[-4000:])
            ready, _, _ = select.select([fd], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    continue
                buf += chunk
        return buf.split(b"\n", 1)[0].decode()

    def stderr_text(self):
        """The server's log so far (its stderr)."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self, timeout=10.0):
        """SIGTERM, then wait; the server removes its data directory."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode

    # --- the HTTP API -------------------------------------------------------

    def api(self, method, path, body=None, content_type="application/json", query=None,
            timeout=30.0):
        """Calls the API; returns (status, parsed JSON or None). Raises
        PillarboxError on 4xx/5xx."""
        url = self.base_url + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = None
        headers = {"Authorization": "Bearer " + self.token}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = raw.decode(errors="replace")
            raise PillarboxError(e.code, parsed) from None

    @staticmethod
    def _segment(s):
        return urllib.parse.quote(s, safe="")

    def create_user(self, name, password):
        return self.api("POST", "/api/v1/users", {"name": name, "password": password})[1]

    def seed(self, user, message, mailbox="INBOX", flags=None, keywords=None, internaldate=None):
        """Stores a raw message (bytes or str); returns {"uid", "uidl", ...}.
        The mailbox is created when missing."""
        if isinstance(message, str):
            message = message.encode()
        path = (f"/api/v1/users/{self._segment(user)}/mailboxes/"
                f"{self._segment(mailbox)}/messages")
        query = {
            "flags": ",".join(flags) if flags else None,
            "keywords": ",".join(keywords) if keywords else None,
            "internaldate": internaldate,
        }
        return self.api("POST", path, message, "message/rfc822", query)[1]

    def reset(self, keep_users=False):
        """Back to an empty server (keep_users: accounts stay, mailboxes
        emptied). Live sessions are closed."""
        return self.api("POST", "/api/v1/reset", {"keep_users": keep_users})[1]

    def wait(self, user, mailbox="INBOX", count=1, timeout=30, subject=None, sender=None):
        """Waits until `count` matching messages are in the mailbox; returns
        the listing ({"messages": [...]}). Raises PillarboxError(408) on
        timeout."""
        path = f"/api/v1/users/{self._segment(user)}/mailboxes/{self._segment(mailbox)}/wait"
        query = {"count": count, "timeout": timeout, "subject": subject, "from": sender}
        return self.api("GET", path, query=query, timeout=timeout + 10)[1]


@pytest.fixture(scope="session")
def pillarbox_session_server():
    srv = PillarboxServer()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def pillarbox_server(pillarbox_session_server):
    pillarbox_session_server.reset()
    return pillarbox_session_server
