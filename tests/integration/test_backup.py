"""`pillarbox backup`, `restore` and `verify` against the real binary: a hot
backup while mail arrives, restored into a new data directory and served;
restore refusing a live store and a damaged file; verify after a SIGKILL
under delivery load."""

import imaplib
import os
import re
import smtplib
import subprocess
import tempfile
import threading
import time

from conftest import BIN, Server, message, wait_for


class Deliveries:
    """LMTP deliveries to alice from a few threads, bounded in count; records
    each subject with the time it was acknowledged."""

    def __init__(self, srv, threads=4, per_thread=150):
        self.srv = srv
        self.acked = []  # (time acknowledged, subject)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(n, per_thread)) for n in range(threads)]

    def _run(self, n, count):
        try:
            with smtplib.LMTP("127.0.0.1", self.srv.ports["lmtp"], timeout=30) as s:
                for i in range(count):
                    if self.stop.is_set():
                        return
                    subject = f"bk-{n}-{i}"
                    s.sendmail("s@example.org", ["alice@x.test"], message(subject=subject))
                    with self.lock:
                        self.acked.append((time.monotonic(), subject))
        except (smtplib.SMTPException, OSError):
            pass  # the server was killed under us (crash test)

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def count(self):
        with self.lock:
            return len(self.acked)

    def acked_before(self, t):
        with self.lock:
            return {s for when, s in self.acked if when < t}

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def imap_subjects(srv, user="alice", password="secret"):
    imap = imaplib.IMAP4("127.0.0.1", srv.ports["imap"], timeout=30)
    try:
        imap.login(user, password)
        typ, data = imap.select("INBOX", readonly=True)
        assert typ == "OK", data
        if int(data[0]) == 0:
            return []
        typ, data = imap.fetch("1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert typ == "OK", data
        subjects = []
        for item in data:
            if isinstance(item, tuple):
                m = re.search(rb"Subject: (\S+)", item[1])
                assert m, item
                subjects.append(m.group(1).decode())
        return subjects
    finally:
        imap.logout()


def new_server(tmp_path):
    """A server with its own data directory and no store yet (not started)."""
    return Server(tempfile.mkdtemp(prefix="restored-", dir=tmp_path))


def test_backup_while_delivering_restores_every_acknowledged_message(make_server, tmp_path):
    srv = make_server()
    load = Deliveries(srv).start()
    try:
        wait_for(lambda: load.count() >= 40, timeout=60, what="deliveries before the backup")
        before = time.monotonic()
        acked = load.acked_before(before)
        backup = os.path.join(tmp_path, "mid-load.pbbackup")
        r = srv.cli("backup", backup)
        out = r.stdout.decode()
        assert "sha256 " in out, out
        # The deliveries went on during the backup.
        wait_for(lambda: load.count() > len(acked) + 20, timeout=60, what="deliveries after the backup")
    finally:
        load.join()
    # The server's own store is still fine, and verify reads it while it runs.
    r = srv.cli("verify")
    assert b"no problems found" in r.stdout, r.stdout

    target = new_server(tmp_path)
    r = target.cli("restore", backup)
    out = r.stdout.decode()
    assert "checksum verified" in out and "no problems found" in out, out
    target.start()
    try:
        subjects = imap_subjects(target)
        missing = acked - set(subjects)
        assert not missing, f"{len(missing)} of {len(acked)} acknowledged messages missing: {sorted(missing)[:10]}"
        assert len(subjects) == len(set(subjects)), "a message twice"
        assert set(subjects) <= {s for _, s in load.acked}, "a message nobody acknowledged"
        # New mail goes on from there.
        target.deliver("alice", message(subject="after-restore"))
        assert "after-restore" in imap_subjects(target)
    finally:
        target.stop()

    # A backup once the load is over holds exactly what the server holds.
    final = os.path.join(tmp_path, "final.pbbackup")
    srv.cli("backup", final)
    target2 = new_server(tmp_path)
    target2.cli("restore", final)
    target2.start()
    try:
        assert sorted(imap_subjects(target2)) == sorted(imap_subjects(srv))
        assert {s for _, s in load.acked} <= set(imap_subjects(target2))
    finally:
        target2.stop()


def test_backup_refuses_to_replace_a_file_unless_forced(server, tmp_path):
    backup = os.path.join(tmp_path, "b.pbbackup")
    server.cli("backup", backup)
    r = server.cli("backup", backup, check=False)
    assert r.returncode == 73 and b"exists; pass --force" in r.stderr, r.stderr
    server.cli("backup", backup, "--force")


def test_restore_refuses_a_live_store(server, tmp_path):
    server.deliver("alice", message(subject="kept-live"))
    backup = os.path.join(tmp_path, "b.pbbackup")
    server.cli("backup", backup)
    r = server.cli("restore", backup, "--force", check=False)
    assert r.returncode == 75, (r.returncode, r.stderr)
    assert b"stop it first" in r.stderr, r.stderr
    # Nothing changed under the server.
    server.deliver("alice", message(subject="after-refusal"))
    assert {"kept-live", "after-refusal"} <= set(imap_subjects(server))
    # Stopped, the same restore is refused without --force (there is a
    # store) and done with it.
    server.stop()
    r = server.cli("restore", backup, check=False)
    assert r.returncode == 73 and b"pass --force" in r.stderr, r.stderr
    server.cli("restore", backup, "--force")
    server.start()
    subjects = imap_subjects(server)
    assert "kept-live" in subjects and "after-refusal" not in subjects


def test_restore_refuses_a_file_whose_checksum_fails(server, tmp_path):
    server.deliver("alice", message(subject="damaged"))
    backup = os.path.join(tmp_path, "b.pbbackup")
    server.cli("backup", backup)
    with open(backup, "r+b") as f:
        f.seek(os.path.getsize(backup) // 2)
        b = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([b[0] ^ 0x01]))
    target = new_server(tmp_path)
    r = target.cli("restore", backup, check=False)
    assert r.returncode == 65, (r.returncode, r.stderr)
    assert b"checksum does not match" in r.stderr, r.stderr
    assert not os.path.exists(os.path.join(target.data_dir, "store", "data.mdb"))
    r = target.cli("verify", check=False)
    assert r.returncode == 66, r.stderr


def test_verify_is_clean_after_sigkill_under_delivery_load(make_server):
    srv = make_server(users={"alice": "secret"})
    load = Deliveries(srv, threads=6, per_thread=100).start()
    try:
        wait_for(lambda: load.count() >= 60, timeout=60, what="some deliveries")
        # Live: verify reads beside the server's writer.
        r = srv.cli("verify", check=False)
        assert r.returncode == 0, r.stdout + r.stderr
        srv.kill()
    finally:
        load.join()
    acked = {s for _, s in load.acked}
    r = srv.cli("verify", check=False)
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode()
    assert "no problems found" in out, out
    m = re.search(r"(\d+) messages", out)
    assert m and int(m.group(1)) >= len(acked), out
    srv.start()
    missing = acked - set(imap_subjects(srv))
    assert not missing, f"{len(missing)} acknowledged messages lost: {sorted(missing)[:10]}"


def drop_sort_keys(store_dir):
    """Makes the store what a build before the sort_keys database left:
    the database dropped (mdb_drop(..., 1)) through liblmdb itself."""
    import ctypes
    import ctypes.util

    lib = ctypes.CDLL(ctypes.util.find_library("lmdb") or "liblmdb.so.0")
    env, txn, dbi = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_uint()
    assert lib.mdb_env_create(ctypes.byref(env)) == 0
    assert lib.mdb_env_set_maxdbs(env, 32) == 0
    assert lib.mdb_env_set_maxreaders(env, 1024) == 0
    assert lib.mdb_env_open(env, store_dir.encode(), 0, 0o600) == 0
    assert lib.mdb_txn_begin(env, None, 0, ctypes.byref(txn)) == 0
    assert lib.mdb_dbi_open(txn, b"sort_keys", 0, ctypes.byref(dbi)) == 0
    assert lib.mdb_drop(txn, dbi, 1) == 0
    assert lib.mdb_txn_commit(txn) == 0
    lib.mdb_env_close(env)


def test_verify_backup_restore_of_a_store_without_sort_keys(make_server, tmp_path):
    srv = make_server()
    for i in range(3):
        srv.deliver("alice", message(subject=f"old-{i}"))
    srv.stop()
    drop_sort_keys(os.path.join(srv.data_dir, "store"))
    r = srv.cli("verify", check=False)
    out = r.stdout.decode()
    assert r.returncode == 0, out + r.stderr.decode()
    assert "no problems found" in out and "note: no sort_keys database" in out, out
    backup = os.path.join(tmp_path, "old.pbbackup")
    r = srv.cli("backup", backup, check=False)
    assert r.returncode == 0, r.stderr
    target = new_server(tmp_path)
    r = target.cli("restore", backup)
    out = r.stdout.decode()
    assert "checksum verified" in out and "no problems found" in out, out
    target.start()
    try:
        assert sorted(imap_subjects(target)) == ["old-0", "old-1", "old-2"]
        imap = imaplib.IMAP4("127.0.0.1", target.ports["imap"], timeout=30)
        imap.login("alice", "secret")
        imap.select("INBOX", readonly=True)
        typ, data = imap.uid("SORT", "(SUBJECT)", "UTF-8", "ALL")
        assert typ == "OK" and data[0].split() == [b"1", b"2", b"3"], data
        imap.logout()
    finally:
        target.stop()
    # The server added the database when it opened the store.
    r = target.cli("verify")
    assert "note:" not in r.stdout.decode(), r.stdout


def test_restore_through_the_container_entry_point(server, tmp_path):
    """README, Docker: a one-off container on a new volume restores a backup
    (the entry point's `init` made an empty store, which restore replaces),
    and the server then started on that volume serves the mail."""
    from test_docker_entrypoint import ENTRYPOINT, base_env, run

    server.deliver("alice", message(subject="in-the-backup"))
    backup = os.path.join(tmp_path, "b.pbbackup")
    server.cli("backup", backup)
    volume = tmp_path / "volume"
    env, ports = base_env(volume)
    r = run(env, BIN, "restore", backup)
    out = r.stdout.decode()
    assert "checksum verified" in out and "no problems found" in out, out
    # Restoring again into that volume now needs --force (it holds mail).
    r = run(env, BIN, "restore", backup, check=False)
    assert r.returncode == 73 and b"pass --force" in r.stderr, r.stderr
    run(env, BIN, "restore", backup, "--force")
    proc = subprocess.Popen(["sh", ENTRYPOINT], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        def logged_in():
            try:
                imap = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=5)
            except OSError:
                return False
            imap.login("alice", "secret")
            imap.logout()
            return True

        wait_for(logged_in, timeout=30, what="the restored server")
        imap = imaplib.IMAP4("127.0.0.1", ports["imap"], timeout=10)
        imap.login("alice", "secret")
        imap.select("INBOX", readonly=True)
        typ, data = imap.search(None, "SUBJECT", "in-the-backup")
        assert typ == "OK" and data[0].split() == [b"1"], data
        imap.logout()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
