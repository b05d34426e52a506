"""A private Dovecot for tests: Debian's dovecot-imapd, dovecot-pop3d and
dovecot-lmtpd (test dependencies, scripts/deps.sh --test), started with a
configuration, run and state directories of its own, IMAP, POP3 and LMTP on
loopback ports, plaintext logins from a passwd-file, mail in
HOME/Maildir (Maildir++ with dovecot-uidlist).

    with DovecotInstance(tmp, {"alice": "secret"}) as dv:
        smtplib.LMTP("127.0.0.1", dv.lmtp_port) ...
        dv.maildir("alice")

Leaving the `with` block stops it and removes its files (copy the Maildir
before). Run as root, the mail belongs to `nobody` (Dovecot refuses uid 0) and the
helper processes use Debian's dovenull/dovecot users; otherwise everything
runs as the current user. Nothing is installed here: a missing Dovecot fails
the test.
"""

import os
import pwd
import grp
import signal
import subprocess
import shutil
import tempfile
import time

from conftest import free_port, wait_for

DOVECOT = "/usr/sbin/dovecot"

CONF = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap pop3 lmtp
listen = 127.0.0.1
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 1
mail_location = maildir:~/Maildir
pop3_uidl_format = %08Xu%08Xv
mail_plugins =
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%n {dir}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/home/%n
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
  unix_listener lmtp {{
    mode = 0600
  }}
}}
service anvil {{
  chroot =
}}
"""


class DovecotInstance:
    def __init__(self, workdir, users):
        assert os.path.exists(DOVECOT), "dovecot is not installed (scripts/deps.sh --test)"
        self.dir = os.path.abspath(workdir)
        self._private = None
        if os.geteuid() == 0:
            # Dovecot's users must reach the files: pytest's root-only
            # temporary tree is no place for them; a private 0755 one is.
            self._private = tempfile.mkdtemp(prefix="pb-dovecot-")
            os.chmod(self._private, 0o755)
            self.dir = self._private
        self.imap_port = free_port()
        self.pop3_port = free_port()
        self.lmtp_port = free_port()
        os.makedirs(os.path.join(self.dir, "run"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "state"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "home"), exist_ok=True)
        if os.geteuid() == 0:
            mail_user = pwd.getpwnam("nobody")
            uid, gid = mail_user.pw_uid, mail_user.pw_gid
            login_user, internal_user, internal_group = "dovenull", "dovecot", "dovecot"
            os.chown(os.path.join(self.dir, "home"), uid, gid)
            os.chmod(self.dir, 0o755)
        else:
            uid, gid = os.getuid(), os.getgid()
            login_user = internal_user = pwd.getpwuid(uid).pw_name
            internal_group = grp.getgrgid(gid).gr_name
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            for name, password in users.items():
                f.write(f"{name}:{{PLAIN}}{password}\n")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(CONF.format(dir=self.dir, login_user=login_user, internal_user=internal_user,
                                internal_group=internal_group, uid=uid, gid=gid,
                                imap_port=self.imap_port, pop3_port=self.pop3_port,
                                lmtp_port=self.lmtp_port))

    def start(self):
        # The master daemonizes and keeps its stdio: no pipes to wait on.
        subprocess.run([DOVECOT, "-c", self.conf], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        import socket

        def listening():
            try:
                for port in (self.imap_port, self.pop3_port, self.lmtp_port):
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False

        wait_for(listening, timeout=15, what="dovecot listening")
        return self

    def stop(self):
        pid_file = os.path.join(self.dir, "run", "master.pid")
        if not os.path.exists(pid_file):
            return
        with open(pid_file) as f:
            pid = int(f.read().strip())
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)

    def maildir(self, user):
        return os.path.join(self.dir, "home", user, "Maildir")

    def log(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log"), errors="replace") as f:
                return f.read()[-10000:]
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        if self._private:
            shutil.rmtree(self._private, ignore_errors=True)
