// Drives Pillarbox with imapflow and QRESYNC (RFC 7162). PB_MODE=remember
// opens INBOX and prints its UIDVALIDITY and HIGHESTMODSEQ; PB_MODE=resync
// opens it with those (PB_UIDVALIDITY, PB_MODSEQ) and prints what the
// server reported: the expunged UIDs (VANISHED) and the flag changes
// (FETCH). One JSON object per line: {"event": ...}. Only ever connects to
// the loopback address it is given.
import { ImapFlow } from 'imapflow';

const emit = (event, data = {}) => process.stdout.write(JSON.stringify({ event, ...data }) + '\n');

const client = new ImapFlow({
  host: process.env.PB_HOST || '127.0.0.1',
  port: Number(process.env.PB_PORT),
  secure: false,
  doSTARTTLS: false,
  auth: { user: process.env.PB_USER, pass: process.env.PB_PASS },
  qresync: true,
  logger: false,
});

const timeout = setTimeout(() => {
  emit('error', { message: 'timed out' });
  process.exit(2);
}, 25000);

const vanished = [];
const flags = [];
client.on('expunge', (e) => vanished.push({ uid: e.uid, vanished: e.vanished, earlier: !!e.earlier }));
client.on('flags', (e) => flags.push({ uid: e.uid, flags: [...e.flags], modseq: String(e.modseq) }));

try {
  await client.connect();
  emit('connected', { enabled: [...client.enabled] });
  let mailbox;
  if (process.env.PB_MODE === 'resync') {
    mailbox = await client.mailboxOpen('INBOX', {
      uidValidity: BigInt(process.env.PB_UIDVALIDITY),
      changedSince: BigInt(process.env.PB_MODSEQ),
    });
  } else {
    mailbox = await client.mailboxOpen('INBOX');
  }
  emit('opened', {
    uidValidity: String(mailbox.uidValidity),
    highestModseq: String(mailbox.highestModseq),
    exists: mailbox.exists,
    qresync: !!mailbox.qresync,
  });
  emit('changes', { vanished, flags });
  await client.logout();
  emit('done');
} catch (err) {
  emit('error', { message: String(err && err.message ? err.message : err) });
  process.exitCode = 1;
} finally {
  clearTimeout(timeout);
}
