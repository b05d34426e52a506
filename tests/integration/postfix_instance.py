"""A private Postfix instance for tests: Debian's postfix package (a test
dependency, scripts/deps.sh --test), started with `postfix -c DIR start` on
a configuration and queue of its own, smtpd on a loopback port, every
service unchrooted so that absolute socket paths work, logging to a file.

    with PostfixInstance(main_cf_extra) as pf:
        smtplib.SMTP("127.0.0.1", pf.smtpd_port) ...
        pf.log()

Nothing is installed here: a missing Postfix fails the test.
"""

import os
import shutil
import socket
import subprocess
import tempfile

from conftest import free_port, wait_for

POSTFIX = "/usr/sbin/postfix"

# The chroot column (5th) is n everywhere: Debian's default master.cf runs
# smtpd and lmtp chrooted in /var/spool/postfix, where other paths do not exist.
MASTER_CF = """\
{smtpd_port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000    0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {spool}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = postfix.test
mydomain = postfix.test
myorigin = postfix.test
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
smtputf8_enable = no
biff = no
maillog_file = {base}/maillog
maillog_file_prefixes = {base}
lmtp_connect_timeout = 10s
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""


def require_postfix():
    assert os.path.exists(POSTFIX), (
        f"{POSTFIX} is missing: install Debian's postfix (scripts/deps.sh --test)")


def socket_dir():
    """A directory for Pillarbox's sockets that Postfix's daemons (user
    postfix) may enter: group postfix, setgid, so that sockets made in it
    belong to group postfix and their 0660 lets Postfix connect, nobody else."""
    path = tempfile.mkdtemp(prefix="pbs", dir="/tmp")
    shutil.chown(path, group="postfix")
    os.chmod(path, 0o2750)
    return path


class PostfixInstance:
    def __init__(self, main_cf_extra=""):
        require_postfix()
        self.base = tempfile.mkdtemp(prefix="pbpf", dir="/tmp")
        os.chmod(self.base, 0o755)  # Postfix daemons run as the postfix user
        self.etc, self.spool, self.data = (os.path.join(self.base, d)
                                           for d in ("etc", "spool", "data"))
        for d in (self.etc, self.spool, self.data):
            os.makedirs(d)
        shutil.chown(self.data, "postfix")
        self.smtpd_port = free_port()
        self.main_cf_extra = main_cf_extra
        self.started = False

    def start(self):
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(spool=self.spool, data=self.data, base=self.base))
            f.write(self.main_cf_extra)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(smtpd_port=f"127.0.0.1:{self.smtpd_port}"))
        r = subprocess.run([POSTFIX, "-c", self.etc, "start"], capture_output=True, timeout=120)
        self.started = True
        if r.returncode != 0:
            # Postfix reports early errors only to a terminal or syslog.
            check = subprocess.run(["script", "-qc", f"{POSTFIX} -c {self.etc} check", "/dev/null"],
                                   capture_output=True, timeout=120)
            raise AssertionError("postfix start failed: " + check.stdout.decode(errors="replace") +
                                 self.log())

        def smtpd_up():
            try:
                with socket.create_connection(("127.0.0.1", self.smtpd_port), timeout=2):
                    return True
            except OSError:
                return False

        wait_for(smtpd_up, timeout=30, what="the Postfix smtpd")
        return self

    def stop(self):
        if self.started:
            subprocess.run([POSTFIX, "-c", self.etc, "stop"], capture_output=True, timeout=60)
            subprocess.run([POSTFIX, "-c", self.etc, "abort"], capture_output=True, timeout=60)
            self.started = False
        shutil.rmtree(self.base, ignore_errors=True)

    def log(self, tail=4000):
        try:
            with open(os.path.join(self.base, "maillog"), errors="replace") as f:
                return f.read()[-tail:]
        except OSError:
            return ""

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()
