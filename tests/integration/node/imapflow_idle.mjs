// Drives Pillarbox with imapflow: connect, list, fetch, then IDLE until a
// message delivered by the test (through the CLI) shows up. Prints one JSON
// object per line: {"event": ...}. Configuration via PB_* environment
// variables; only ever connects to the loopback address it is given.
import { ImapFlow } from 'imapflow';

const emit = (event, data = {}) => process.stdout.write(JSON.stringify({ event, ...data }) + '\n');

const client = new ImapFlow({
  host: process.env.PB_HOST || '127.0.0.1',
  port: Number(process.env.PB_PORT),
  secure: process.env.PB_SECURE === '1',
  doSTARTTLS: process.env.PB_SECURE === '1' ? undefined : true,
  tls: { rejectUnauthorized: false },
  auth: { user: process.env.PB_USER, pass: process.env.PB_PASS },
  logger: false,
});

const timeout = setTimeout(() => {
  emit('error', { message: 'timed out' });
  process.exit(2);
}, 25000);

try {
  await client.connect();
  emit('connected', { capabilities: [...client.capabilities.keys()] });

  const boxes = await client.list();
  emit('list', { paths: boxes.map((b) => b.path) });

  const lock = await client.getMailboxLock('INBOX');
  try {
    const messages = [];
    for await (const msg of client.fetch('1:*', { envelope: true, flags: true, size: true, source: true, uid: true })) {
      messages.push({
        uid: msg.uid,
        subject: msg.envelope.subject,
        flags: [...msg.flags],
        size: msg.size,
        source: msg.source.toString(),
      });
    }
    emit('fetched', { messages });

    const exists = new Promise((resolve) => {
      client.on('exists', (data) => resolve(data));
    });
    // imapflow enters IDLE by itself when the connection is otherwise idle.
    const idling = client.idle();
    emit('idling');
    const data = await exists;
    emit('exists', { count: data.count, prevCount: data.prevCount });
    // A new command ends IDLE (imapflow sends DONE first).
    const last = await client.fetchOne('*', { envelope: true, uid: true });
    await idling.catch(() => {});
    emit('pushed', { uid: last.uid, subject: last.envelope.subject });
  } finally {
    lock.release();
  }
  await client.logout();
  clearTimeout(timeout);
  emit('done');
} catch (err) {
  emit('error', { message: String(err && err.stack || err), response: err && err.responseText });
  process.exit(1);
}
