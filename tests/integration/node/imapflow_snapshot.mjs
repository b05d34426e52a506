// What an imapflow client remembers about an account to sync it later:
// every mailbox (LIST), and for each its UIDVALIDITY, UIDNEXT, number of
// messages and highest UID, and the flags and INTERNALDATE of every message
// by UID (a plain FETCH 1:* (UID FLAGS INTERNALDATE), no CONDSTORE/QRESYNC),
// and HIGHESTMODSEQ where the server has one. Opens mailboxes read-only.
// Prints one JSON object: {"event": "snapshot", "boxes": {...}} (or
// {"event": "error"}). Configuration via PB_* environment variables; only
// ever connects to the loopback address it is given.
import { ImapFlow } from 'imapflow';

const emit = (event, data = {}) => process.stdout.write(JSON.stringify({ event, ...data }) + '\n');

const client = new ImapFlow({
  host: process.env.PB_HOST || '127.0.0.1',
  port: Number(process.env.PB_PORT),
  secure: false,
  doSTARTTLS: false,
  auth: { user: process.env.PB_USER, pass: process.env.PB_PASS },
  logger: false,
});

const timeout = setTimeout(() => {
  emit('error', { message: 'timed out' });
  process.exit(2);
}, 40000);

try {
  await client.connect();
  const boxes = {};
  for (const entry of await client.list()) {
    if (entry.flags.has('\\Noselect')) continue;
    const box = await client.mailboxOpen(entry.path, { readOnly: true });
    const messages = {};
    let highestUid = 0;
    if (box.exists > 0) {
      for await (const m of client.fetch('1:*', { uid: true, flags: true, internalDate: true })) {
        messages[m.uid] = {
          flags: [...m.flags].filter((f) => f !== '\\Recent').sort(),
          internalDate: m.internalDate.toISOString(),
        };
        highestUid = Math.max(highestUid, m.uid);
      }
    }
    boxes[entry.path] = {
      delimiter: entry.delimiter,
      uidValidity: String(box.uidValidity),
      uidNext: box.uidNext,
      exists: box.exists,
      highestUid,
      highestModseq: box.highestModseq ? String(box.highestModseq) : null,
      messages,
    };
    await client.mailboxClose();
  }
  emit('snapshot', { boxes });
  await client.logout();
} catch (err) {
  emit('error', { message: String(err && err.message ? err.message : err) });
  process.exitCode = 1;
} finally {
  clearTimeout(timeout);
}
