// The playground page: a customer chatting through the real amazon-connect-chatjs (loaded from the installed
// package), and a live view of the bot host with fault buttons.

const $ = (id) => document.getElementById(id);
const api = async (path, body) => {
  const response = await fetch(
    path,
    body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) },
  );
  const json = await response.json();
  if (!response.ok) throw new Error(json.error ?? response.statusText);
  return json;
};

const config = await api('/api/config');
const connect = globalThis.connect;
connect.ChatSession.setGlobalConfig({
  region: config.region,
  endpoint: config.endpoint,
  loggerConfig: { level: connect.LogLevel.WARN },
  webSocketManagerConfig: { isNetworkOnline: () => true },
});

for (const bot of config.bots) {
  const option = document.createElement('option');
  option.value = bot.name;
  option.textContent = `${bot.displayName} (${bot.name})`;
  $('bot').append(option);
}
$('bot').value = config.bots.some((b) => b.name === 'faq') ? 'faq' : config.bots[0]?.name;
if (config.metricsUrl) {
  $('metrics').href = `${config.metricsUrl}/metrics`;
} else {
  $('metrics').removeAttribute('href');
}
$('emulator').href = `${config.endpoint}/_emulator/contacts`;

let session;
let contactId;
let selected;
let seen = new Set();
let typingTimer;
let outcomeTimer;

function escapeHtml(text) {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c],
  );
}

/** A small, safe markdown renderer: escapes HTML first, then bold, italics, code and lists. */
function markdown(text) {
  const inline = (line) =>
    escapeHtml(line)
      .replace(/`([^`]+)`/g, '<code>$1</code>')
      .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
      .replace(/(^|\W)\*([^*]+)\*(?=\W|$)/g, '$1<em>$2</em>');
  const out = [];
  let list;
  for (const line of text.split('\n')) {
    const item = /^\s*(?:(\d+)\.|[-*])\s+(.*)$/.exec(line);
    if (item) {
      const tag = item[1] ? 'ol' : 'ul';
      if (list !== tag) {
        if (list) out.push(`</${list}>`);
        out.push(`<${tag}>`);
        list = tag;
      }
      out.push(`<li>${inline(item[2])}</li>`);
      continue;
    }
    if (list) {
      out.push(`</${list}>`);
      list = undefined;
    }
    if (line.trim()) out.push(`<p>${inline(line)}</p>`);
  }
  if (list) out.push(`</${list}>`);
  return out.join('');
}

function addLine(kind, html, who, testid) {
  const li = document.createElement('li');
  li.className = kind;
  if (testid) li.dataset.testid = testid;
  li.innerHTML = `${who ? `<span class="who">${escapeHtml(who)}</span>` : ''}<span class="bubble">${html}</span>`;
  $('messages').append(li);
  $('messages').scrollTop = $('messages').scrollHeight;
}

function render(item) {
  if (!item?.Id || seen.has(item.Id)) return;
  seen.add(item.Id);
  const role = item.ParticipantRole;
  const type = item.ContentType ?? '';
  if (item.Type === 'MESSAGE') {
    const kind = role === 'CUSTOMER' ? 'customer' : role === 'AGENT' ? 'agent' : 'bot';
    const body = type === 'text/markdown' ? markdown(item.Content ?? '') : escapeHtml(item.Content ?? '');
    if (kind !== 'customer') $('typing').hidden = true;
    addLine(kind, body, item.DisplayName, kind === 'customer' ? 'customer-message' : 'bot-message');
  } else if (type.endsWith('participant.joined')) {
    addLine('event', `${escapeHtml(item.DisplayName ?? role)} joined`);
  } else if (type.endsWith('participant.left')) {
    addLine('event', `${escapeHtml(item.DisplayName ?? role)} left`);
  } else if (type.endsWith('chat.ended')) {
    addLine('event', 'The chat has ended');
  }
}

function setConnected(connected) {
  $('text').disabled = !connected;
  $('send').disabled = !connected;
  $('leave').disabled = !connected;
  $('start').disabled = connected;
}

async function showOutcome() {
  if (!contactId) return;
  const contact = await api(`/api/chats/${contactId}`).catch(() => undefined);
  const wait = contact?.flow?.wait;
  if (wait?.status !== 'done') return;
  clearInterval(outcomeTimer);
  $('outcome').hidden = false;
  $('outcome').innerHTML =
    `<strong>Flow:</strong> the Wait block ended with <code>${escapeHtml(wait.result)}</code>` +
    `${wait.reason ? ` (${escapeHtml(wait.reason)})` : ''}. Attributes handed back to the flow:` +
    `<pre>${escapeHtml(JSON.stringify(wait.attributes ?? {}, null, 2))}</pre>`;
}

$('start').addEventListener('click', async () => {
  $('messages').replaceChildren();
  $('outcome').hidden = true;
  seen = new Set();
  $('start').disabled = true;
  $('status').textContent = 'Starting a chat…';
  const chat = await api('/api/chats', { bot: $('bot').value, displayName: $('name').value });
  contactId = chat.contactId;
  selected = contactId;
  session = connect.ChatSession.create({
    chatDetails: {
      ContactId: chat.contactId,
      ParticipantId: chat.participantId,
      ParticipantToken: chat.participantToken,
    },
    type: 'CUSTOMER',
    options: { region: config.region },
    disableCSM: true,
  });
  session.onMessage((event) => render(event.data));
  session.onTyping((event) => {
    if (event.data?.ParticipantRole === 'CUSTOMER') return;
    $('typing').hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => {
      $('typing').hidden = true;
    }, 10_000);
  });
  // The bot may have joined and greeted before this socket subscribed (or while it was reconnecting): what
  // the socket missed is in the transcript, as for any chat widget. render() skips items already shown. Read it
  // when the connection is established and again on the first deep heartbeat after that, which chatjs only gets
  // once the socket is subscribed (chatjs-probe.md §4.1 quirk 3).
  let resync = false;
  const syncTranscript = async () => {
    const history = await session
      .getTranscript({ maxResults: 100, scanDirection: 'BACKWARD', sortOrder: 'ASCENDING' })
      .catch(() => undefined);
    for (const item of history?.data?.Transcript ?? []) render(item);
  };
  session.onConnectionEstablished(() => {
    $('status').textContent = `Connected as the customer. Contact ${chat.contactId}`;
    setConnected(true);
    resync = true;
    syncTranscript();
  });
  session.onDeepHeartbeatSuccess?.(() => {
    if (!resync) return;
    resync = false;
    syncTranscript();
  });
  session.onConnectionBroken(() => {
    $('status').textContent = 'Connection broken.';
  });
  session.onEnded(() => {
    $('status').textContent = 'The chat has ended.';
    setConnected(false);
    showOutcome();
  });
  await session.connect();
  outcomeTimer = setInterval(showOutcome, 1000);
});

$('composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = $('text').value.trim();
  if (!text || !session) return;
  const input = $('text');
  input.value = '';
  try {
    await session.sendMessage({ contentType: 'text/plain', message: text });
  } catch (error) {
    // Refused (too long, the chat ended) or not sent: give the text back and say so.
    if (!input.value) input.value = text;
    $('status').textContent = `Your message was not sent: ${describe(error)}`;
  }
});

$('text').addEventListener('input', () => {
  session?.sendEvent({ contentType: 'application/vnd.amazonaws.connect.event.typing' }).catch(() => {});
});

$('leave').addEventListener('click', async () => {
  await session?.disconnectParticipant().catch((error) => {
    $('status').textContent = `Could not leave: ${describe(error)}`;
  });
});

/** What a chatjs rejection says: an Error, or the service's answer (`{ message }`, `{ error: { message } }`). */
function describe(error) {
  return error?.message ?? error?.error?.message ?? error?.statusText ?? String(error);
}

for (const button of document.querySelectorAll('[data-fault]')) {
  button.addEventListener('click', async () => {
    if (!selected) return;
    await api(`/api/chats/${selected}/faults`, { fault: button.dataset.fault });
  });
}

function cell(value, className) {
  const td = document.createElement('td');
  td.textContent = String(value);
  if (className) td.className = className;
  return td;
}

async function refreshPanel() {
  const state = await api('/api/state').catch(() => undefined);
  if (!state) return;
  $('held').textContent = state.chatsHeld;
  $('running').textContent = state.handlersRunning;
  $('throttles').textContent = state.throttles;
  const waits = Object.entries(state.quotaWaitMs);
  $('waits').textContent = waits.length ? waits.map(([bucket, ms]) => `${bucket} ${ms} ms`).join(', ') : '–';
  selected ??= state.chats[0]?.contactId;
  const rows = state.chats.map((chat) => {
    const tr = document.createElement('tr');
    tr.dataset.contactId = chat.contactId;
    tr.dataset.testid = 'host-chat';
    if (chat.contactId === selected) tr.className = 'selected';
    tr.append(
      cell(chat.contactId.slice(0, 8)),
      cell(chat.bot),
      cell(chat.endedBecause ? `ended (${chat.endedBecause})` : chat.state, `state-${chat.state}`),
      cell(chat.reconnects),
      cell(chat.rotations),
      cell(chat.tokenRefreshes),
      cell(chat.queueDepth),
      cell(chat.repliesSent),
      cell(chat.errors),
    );
    tr.children[3].dataset.testid = 'reconnects';
    tr.addEventListener('click', () => {
      selected = chat.contactId;
      refreshPanel();
    });
    return tr;
  });
  $('chats').replaceChildren(...rows);
}

setInterval(refreshPanel, 1000);
refreshPanel();
