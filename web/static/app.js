// The Pillarbox console: users -> mailboxes -> messages, a message with its
// lifecycle, the INBOX as POP3 and IMAP see it, live sessions and events.
// Plain JavaScript, no build step; every value from the server is set as
// text (never as HTML).

const state = { user: null, mailbox: null, uid: null, q: "", source: null, refreshTimer: null };

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k.startsWith("data-")) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return e;
}

async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  if (r.status === 401) { showLogin(); throw new Error("unauthorized"); }
  const text = await r.text();
  const data = text ? JSON.parse(text) : null;
  if (!r.ok) throw new Error(data?.error || r.statusText);
  return data;
}

const enc = encodeURIComponent;
const userPath = () => `/api/v1/users/${enc(state.user)}`;
const mailboxPath = () => `${userPath()}/mailboxes/${enc(state.mailbox)}`;

function size(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

function stateBadge(s) {
  return s ? el("span", { class: `state ${s}` }, s.replace("_", " ")) : "";
}

// --- login ---------------------------------------------------------------------

function showLogin() {
  $("#login").hidden = false;
  $("#app").hidden = true;
  $("#logout").hidden = true;
  if (state.source) { state.source.close(); state.source = null; }
  setLive(false);
}

async function login(ev) {
  ev.preventDefault();
  const r = await fetch("/api/v1/login", {
    method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: $("#login-token").value.trim() }),
  });
  if (!r.ok) { $("#login-error").textContent = "Wrong token."; return; }
  $("#login-token").value = "";
  $("#login-error").textContent = "";
  start();
}

async function logout() {
  await fetch("/api/v1/logout", { method: "POST", credentials: "same-origin" });
  showLogin();
}

// --- panes -----------------------------------------------------------------------

async function loadUsers() {
  const data = await api("GET", "/api/v1/users");
  const ul = $("#users");
  ul.replaceChildren(...data.users.map((u) => el("li", {
    class: "item" + (u.name === state.user ? " selected" : ""), "data-user": u.name,
    onclick: () => selectUser(u.name),
  }, u.name, el("span", { class: "count" }, u.used_messages))));
  if (!state.user && data.users.length) selectUser(data.users[0].name);
}

async function selectUser(name) {
  state.user = name; state.mailbox = "INBOX"; state.uid = null;
  for (const li of document.querySelectorAll("#users li")) li.classList.toggle("selected", li.dataset.user === name);
  $("#message-detail").replaceChildren(el("p", { class: "hint" }, "Choose a message."));
  await Promise.all([loadMailboxes(), loadMessages(), loadViews()]);
}

async function loadMailboxes() {
  if (!state.user) return;
  const data = await api("GET", `${userPath()}/mailboxes`);
  $("#mailboxes").replaceChildren(...data.mailboxes.map((m) => el("li", {
    class: "item" + (m.name === state.mailbox ? " selected" : ""), "data-mailbox": m.name,
    title: `${m.special_use || ""} UIDVALIDITY ${m.uidvalidity} UIDNEXT ${m.uidnext}`,
    onclick: () => selectMailbox(m.name),
  }, m.name, el("span", { class: "count" }, `${m.unseen}/${m.messages}`))));
}

async function selectMailbox(name) {
  state.mailbox = name; state.uid = null;
  for (const li of document.querySelectorAll("#mailboxes li")) li.classList.toggle("selected", li.dataset.mailbox === name);
  await loadMessages();
}

async function loadMessages() {
  if (!state.user) return;
  const q = state.q ? `&q=${enc(state.q)}` : "";
  // INBOX also lists what left it (POP3 deletes, moves), greyed, after the
  // messages still there: the path each message took stays visible.
  const gone = state.mailbox === "INBOX" ? "&include=gone" : "";
  const data = await api("GET", `${mailboxPath()}/messages?limit=200${q}${gone}`);
  const here = data.messages.filter((m) => !m.gone).length;
  $("#messages-title").textContent = `${state.mailbox} (${here}${here < data.messages.length ? `, ${data.messages.length - here} gone` : ""})`;
  $("#messages tbody").replaceChildren(...data.messages.map((m) => el("tr", {
    class: "row" + (m.gone ? " gone" : "") + (!m.gone && m.uid === state.uid ? " selected" : ""),
    "data-uid": m.uid ?? "",
    title: m.gone ? goneText(m) : "",
    onclick: () => { if (m.uid !== null) selectMessage(m.uid); },
  }, el("td", {}, m.uid ?? "-"), el("td", {}, m.from), el("td", {}, m.subject || "(no subject)",
    m.attachments ? ` 📎${m.attachments}` : ""), el("td", {}, m.size === null ? "" : size(m.size)),
  el("td", { class: "pop3-state" }, stateBadge(m.pop3_state)))));
  if (state.uid) await loadMessage();
}

async function selectMessage(uid) {
  state.uid = uid;
  for (const tr of document.querySelectorAll("#messages tr.row")) tr.classList.toggle("selected", Number(tr.dataset.uid) === uid);
  await loadMessage();
}

function lifecycleLine(ev) {
  const who = ev.protocol ? `${ev.protocol}${ev.session ? " #" + ev.session : ""}` : "";
  const texts = {
    "delivered": `delivered by ${ev.detail || ev.protocol}`,
    "imap-read": `read over IMAP by session #${ev.session}`,
    "pop3-retrieved": `retrieved by POP3 session #${ev.session}`,
    "pop3-delete-pending": `delete pending (POP3 DELE, session #${ev.session})`,
    "pop3-deleted": `deleted at POP3 QUIT, mode ${ev.detail} applied`,
    "pop3-delete-aborted": `delete aborted (${ev.detail || "RSET or disconnect"})`,
    "pop3-delete-refused": "DELE refused (mode deny)",
  };
  return `${ev.time}  ${texts[ev.kind] || `${ev.kind} ${ev.detail}`}  ${who}`;
}

// Where a message that left INBOX went, in words.
function goneText(m) {
  const to = m.moved_to ? ` to ${m.moved_to.mailbox}${m.moved_to.uid ? " UID " + m.moved_to.uid : ""}` : "";
  return `${m.pop3_state}${to}: ${m.gone.kind} by ${m.gone.protocol}${m.gone.session ? " #" + m.gone.session : ""} at ${m.gone.time}`;
}

async function loadMessage() {
  const m = await api("GET", `${mailboxPath()}/messages/${state.uid}`);
  if (m.gone) {
    $("#message-detail").replaceChildren(
      el("h2", {}, m.subject || "(no subject)"),
      el("p", { class: "gone-note" }, `No longer in ${state.mailbox}: ${goneText(m)}.`),
      el("dl", {},
        el("dt", {}, "UID / UIDL"), el("dd", {}, `${m.uid} / ${m.uidl}`),
        el("dt", {}, "POP3"), el("dd", { id: "detail-pop3-state" }, stateBadge(m.pop3_state))),
      el("h3", {}, "Lifecycle"),
      el("ol", { id: "lifecycle" }, ...(m.journal || []).map((ev) => el("li", {}, lifecycleLine(ev)))));
    return;
  }
  const base = `${mailboxPath()}/messages/${m.uid}`;
  const atts = m.attachment_parts.map((a) => el("li", {},
    el("a", { href: `${base}/parts/${a.section}?download=1` }, a.filename || `part ${a.section}`),
    ` ${a.type}, ${size(a.size)}`));
  $("#message-detail").replaceChildren(
    el("h2", {}, m.subject || "(no subject)"),
    el("dl", {},
      el("dt", {}, "From"), el("dd", {}, m.from),
      el("dt", {}, "To"), el("dd", {}, m.to),
      el("dt", {}, "Date"), el("dd", {}, m.date || m.internal_date),
      el("dt", {}, "UID / UIDL"), el("dd", {}, `${m.uid} / ${m.uidl}`),
      el("dt", {}, "Flags"), el("dd", {}, m.flags.join(" ") || "-"),
      el("dt", {}, "POP3"), el("dd", { id: "detail-pop3-state" }, stateBadge(m.pop3_state) || "not in POP3's INBOX")),
    el("p", {}, el("a", { href: `${base}/raw` }, "Download the raw message")),
    atts.length ? el("div", {}, el("h3", {}, "Attachments"), el("ul", {}, ...atts)) : "",
    el("h3", {}, "Text"),
    el("pre", { class: "text" }, m.text ?? m.html ?? "(no text part)"),
    el("h3", {}, "Lifecycle"),
    el("ol", { id: "lifecycle" }, ...m.journal.map((ev) => el("li", {}, lifecycleLine(ev)))));
}

async function loadViews() {
  if (!state.user) return;
  const v = await api("GET", `${userPath()}/views`);
  $("#delete-mode-sentence").textContent = `${v.pop3_delete_mode_explained} (mode ${v.pop3_delete_mode.mode}, from ${v.pop3_delete_mode.source})`;
  const select = $("#delete-mode");
  if (![...select.options].some((o) => o.value === v.pop3_delete_mode.mode)) {
    select.append(el("option", { value: v.pop3_delete_mode.mode }, v.pop3_delete_mode.mode));
  }
  select.value = v.pop3_delete_mode.mode;
  const pop3 = v.messages.filter((m) => m.pop3_number !== null);
  $("#pop3-view tbody").replaceChildren(
    el("tr", {}, el("th", {}, "#"), el("th", {}, "UIDL"), el("th", {}, "Subject"), el("th", {}, "State")),
    ...pop3.map((m) => el("tr", { "data-uidl": m.uidl }, el("td", {}, m.pop3_number), el("td", {}, m.uidl),
      el("td", {}, m.subject), el("td", {}, stateBadge(m.pop3_state)))));
  $("#imap-view tbody").replaceChildren(
    el("tr", {}, el("th", {}, "UID"), el("th", {}, "Flags"), el("th", {}, "Subject"), el("th", {}, "POP3")),
    ...v.messages.map((m) => el("tr", { "data-uid": m.uid }, el("td", {}, m.uid), el("td", {}, m.flags.join(" ")),
      el("td", {}, m.subject), el("td", {}, stateBadge(m.pop3_state)))));
  $("#gone").replaceChildren(...v.gone.map((ev) => el("li", {}, `${ev.time} ${ev.kind} ${ev.detail} "${ev.subject}" (${ev.protocol})`)));
}

async function changeDeleteMode() {
  try {
    await api("PATCH", `${userPath()}/settings`, { "pop3.delete_mode": $("#delete-mode").value });
  } catch (e) { alert(e.message); }
  await loadViews();
}

async function loadSessions() {
  const data = await api("GET", "/api/v1/sessions");
  $("#sessions tbody").replaceChildren(
    el("tr", {}, ...["Session", "Protocol", "User", "Client", "Mailbox", "POP3 lock", "Since"].map((h) => el("th", {}, h))),
    ...data.sessions.map((s) => el("tr", { "data-session": s.session }, el("td", {}, `#${s.session}`),
      el("td", {}, s.protocol), el("td", {}, s.user), el("td", {}, `${s.peer} ${s.client_id}`),
      el("td", {}, s.mailbox), el("td", {}, s.holds_pop3_lock ? "holds" : ""), el("td", {}, s.since))));
}

// Recorded transcripts ([dev] transcripts): the list, and the one opened,
// followed while its session is live.
async function loadTranscripts() {
  const r = await fetch("/api/v1/transcripts", { credentials: "same-origin" });
  if (r.status === 404) {
    $("#transcripts").replaceChildren(el("li", { class: "hint" },
      "Not recorded: set [dev] transcripts = true (on with serve --ephemeral)."));
    return;
  }
  if (!r.ok) return;
  const data = await r.json();
  $("#transcripts").replaceChildren(...data.transcripts.map((t) => el("li", {
    class: "item" + (t.session === state.transcript ? " selected" : ""), "data-session": t.session,
    onclick: () => openTranscript(t.session),
  }, `#${t.session} ${t.protocol} from ${t.peer} at ${t.started} (${t.live ? "live" : "closed"}, ${t.lines} lines)`)));
}

async function openTranscript(id) {
  state.transcript = id;
  clearTimeout(state.transcriptTimer);
  for (const li of document.querySelectorAll("#transcripts li")) li.classList.toggle("selected", Number(li.dataset.session) === id);
  const r = await fetch(`/api/v1/sessions/${id}/transcript`, { credentials: "same-origin" });
  if (state.transcript !== id) return;
  const pre = $("#transcript");
  pre.hidden = false;
  pre.textContent = r.ok ? await r.text() : `No transcript for session #${id} any more.`;
  pre.scrollTop = pre.scrollHeight;
  // A live session's transcript grows: follow it until it closes.
  if (r.ok && pre.textContent.split("\n", 1)[0].endsWith("(live)")) {
    state.transcriptTimer = setTimeout(() => openTranscript(id), 1000);
  }
}

// --- live updates ------------------------------------------------------------------

function setLive(on) {
  $("#live").textContent = on ? "live" : "offline";
  $("#live").className = `live ${on ? "on" : "off"}`;
}

// Many events in a burst cause one refresh.
function scheduleRefresh(what) {
  state.pending = Object.assign(state.pending || {}, what);
  if (state.refreshTimer) return;
  state.refreshTimer = setTimeout(async () => {
    const p = state.pending; state.pending = null; state.refreshTimer = null;
    const jobs = [];
    if (p.users) jobs.push(loadUsers());
    if (p.mail && state.user) jobs.push(loadMailboxes(), loadMessages(), loadViews());
    if (p.sessions) jobs.push(loadSessions(), loadTranscripts());
    await Promise.allSettled(jobs);
  }, 150);
}

function connectEvents() {
  if (state.source) state.source.close();
  const src = new EventSource("/api/v1/events");
  state.source = src;
  src.onopen = () => setLive(true);
  src.onerror = () => setLive(false);
  const onMail = (ev) => {
    const d = JSON.parse(ev.data);
    const log = $("#events");
    log.prepend(el("li", {}, `${d.time} ${d.user} ${d.kind} ${d.mailbox} uid=${d.uid} "${d.subject}" ${d.detail}`));
    while (log.children.length > 100) log.lastChild.remove();
    scheduleRefresh({ users: true, mail: d.user === state.user });
  };
  for (const name of ["delivery", "flags", "expunge", "hide", "move", "journal"]) src.addEventListener(name, onMail);
  for (const name of ["session_start", "session_end"]) {
    src.addEventListener(name, () => scheduleRefresh({ sessions: true, mail: true }));
  }
  src.addEventListener("overflow", () => scheduleRefresh({ users: true, mail: true, sessions: true }));
}

async function start() {
  try {
    await loadUsers();
  } catch (e) {
    return;  // showLogin() ran on 401
  }
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#logout").hidden = false;
  await Promise.allSettled([loadSessions(), loadTranscripts()]);
  connectEvents();
}

document.addEventListener("DOMContentLoaded", () => {
  $("#login-form").addEventListener("submit", login);
  $("#logout").addEventListener("click", logout);
  $("#delete-mode").addEventListener("change", changeDeleteMode);
  let t = null;
  $("#search").addEventListener("input", (e) => {
    clearTimeout(t);
    t = setTimeout(() => { state.q = e.target.value; loadMessages(); }, 200);
  });
  start();
});
