// The sandbox inbox page: plain browser JavaScript, no build step. Lists GET /messages, then follows GET /events
// (Server-Sent Events) for what arrives; message content is only ever put into the page as text, and an e-mail's
// HTML only into an iframe sandboxed without scripts.
'use strict';

/** Most messages shown at once (the newest); the counts still cover all of them. */
const SHOWN = 200;
const CHANNEL_NAMES = { sms: 'SMS', email: 'E-mail', notif: 'Notification' };

const state = { messages: [], seen: new Set(), filter: 'all', loading: false, buffered: [] };
const $ = (selector) => document.querySelector(selector);

function element(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined) continue;
    if (key === 'className') node.className = value;
    else if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((child) => child !== undefined && child !== null));
  return node;
}

const show = (value) => (typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value));

function renderContent(message) {
  const content = message.content || {};
  if (message.channel === 'sms') {
    return [
      element('p', { className: 'text', text: show(content.body) }),
      element('p', { className: 'hint', text: `from ${show(content.from)} · sid ${show(content.sid)}` }),
    ];
  }
  if (message.channel === 'notif') {
    const parts = [element('p', { className: 'title', text: show(content.title) }), element('p', { className: 'text', text: show(content.body) })];
    if (content.data !== undefined) parts.push(element('pre', { 'aria-label': 'data', text: JSON.stringify(content.data, null, 2) }));
    return parts;
  }
  const parts = [element('p', { className: 'title', text: show(content.subject) }), element('p', { className: 'hint', text: `from ${show(content.from)}` })];
  if (typeof content.html === 'string') {
    // sandbox="" : no scripts, no forms, no navigation of the page, an opaque origin. srcdoc is set as a property.
    const frame = element('iframe', { className: 'html', sandbox: '', referrerpolicy: 'no-referrer', title: `HTML of ${show(content.subject)}` });
    frame.srcdoc = content.html;
    parts.push(frame);
  }
  if (typeof content.text === 'string') {
    parts.push(element('details', { open: typeof content.html === 'string' ? undefined : '' }, element('summary', { text: 'Text' }), element('pre', { text: content.text })));
  }
  if (Array.isArray(content.headers)) {
    parts.push(element('details', {}, element('summary', { text: 'Headers' }), element('pre', { text: content.headers.join('\n') })));
  }
  return parts;
}

function renderMessage(message) {
  const time = new Date(message.receivedAt);
  return element(
    'li',
    { className: 'message', 'data-channel': message.channel, 'data-seq': String(message.seq) },
    element(
      'div',
      { className: 'meta' },
      element('span', { className: `badge ${message.channel}`, text: CHANNEL_NAMES[message.channel] || message.channel }),
      element('span', { className: 'to', text: message.to }),
      element('time', { datetime: message.receivedAt, text: time.toLocaleTimeString() }),
      element('span', { text: `id ${message.id || '(none)'}` }),
      element('span', { className: 'via', text: `via ${message.personality || '?'}` }),
    ),
    ...renderContent(message),
  );
}

const matches = (message) => state.filter === 'all' || message.channel === state.filter;

function renderCounts() {
  const counts = { all: state.messages.length, sms: 0, email: 0, notif: 0 };
  for (const message of state.messages) counts[message.channel] += 1;
  for (const node of document.querySelectorAll('[data-count]')) node.textContent = String(counts[node.dataset.count] ?? 0);
  const shown = state.messages.filter(matches).length;
  $('#empty').hidden = shown > 0;
  $('#capped').hidden = shown <= SHOWN;
  $('#capped').textContent = `Showing the newest ${SHOWN} of ${shown}.`;
}

/** Rebuilds the list (after a load, a clear or a new filter); single arrivals are prepended by `add`. */
function renderAll() {
  const newestFirst = state.messages.filter(matches).slice(-SHOWN).reverse();
  $('#messages').replaceChildren(...newestFirst.map(renderMessage));
  renderCounts();
}

function add(message) {
  if (state.seen.has(message.seq)) return;
  state.seen.add(message.seq);
  state.messages.push(message);
  if (matches(message)) {
    const list = $('#messages');
    list.prepend(renderMessage(message));
    while (list.children.length > SHOWN) list.lastElementChild.remove();
  }
  renderCounts();
}

async function loadAll() {
  state.loading = true;
  try {
    const response = await fetch('/messages', { cache: 'no-store' });
    const { messages } = await response.json();
    state.messages = messages;
    state.seen = new Set(messages.map((message) => message.seq));
    renderAll();
  } finally {
    state.loading = false;
    state.buffered.splice(0).forEach(add);
  }
}

function showFaults(faults) {
  for (const group of document.querySelectorAll('[data-setting]')) {
    const current = faults[group.dataset.setting];
    for (const button of group.querySelectorAll('button')) button.setAttribute('aria-pressed', String(Number(button.dataset.value) === current));
  }
  $('#faults-status').textContent =
    `In force: transient ${Math.round(faults.transientRate * 100)}%, permanent ${Math.round(faults.permanentRate * 100)}%, delay ${faults.delayMs} ms.`;
}

async function setFaults(settings) {
  const response = await fetch('/faults', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(settings) });
  if (response.ok) showFaults(await response.json());
  else $('#faults-status').textContent = `PUT /faults answered ${response.status}`;
}

/** One row per provider personality: its state and a button that switches it. */
function showProviders(states) {
  const rows = Object.entries(states).map(([name, current]) => {
    const down = current === 'down';
    const button = element('button', { type: 'button', 'data-provider': name, 'aria-pressed': String(down), className: down ? 'danger' : undefined, text: down ? 'Bring back up' : 'Take down' });
    button.addEventListener('click', () => void setProvider(name, down ? 'up' : 'down'));
    return element('div', { className: 'provider', role: 'group', 'aria-label': name, 'data-state': current }, element('span', { className: 'label', text: name }), element('span', { className: `state ${current}`, text: current }), button);
  });
  $('#providers').replaceChildren(...rows);
}

async function setProvider(name, next) {
  const response = await fetch(`/faults/providers/${encodeURIComponent(name)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ state: next }) });
  if (response.ok) showProviders(await response.json());
}

function follow() {
  const events = new EventSource('/events');
  const live = $('#live');
  // (Re)connected: reload the list, since anything may have arrived (or the sandbox restarted) meanwhile.
  events.addEventListener('open', () => {
    live.textContent = 'live';
    live.classList.add('on');
    void loadAll();
  });
  events.addEventListener('error', () => {
    live.textContent = 'reconnecting…';
    live.classList.remove('on');
  });
  events.addEventListener('received', (event) => {
    const message = JSON.parse(event.data);
    if (state.loading) state.buffered.push(message);
    else add(message);
  });
  events.addEventListener('cleared', () => {
    state.messages = [];
    state.seen.clear();
    renderAll();
  });
  events.addEventListener('faults', (event) => showFaults(JSON.parse(event.data)));
  events.addEventListener('providers', (event) => showProviders(JSON.parse(event.data)));
}

document.addEventListener('DOMContentLoaded', () => {
  for (const button of document.querySelectorAll('[data-filter]')) {
    button.addEventListener('click', () => {
      state.filter = button.dataset.filter;
      for (const other of document.querySelectorAll('[data-filter]')) other.setAttribute('aria-pressed', String(other === button));
      renderAll();
    });
  }
  for (const group of document.querySelectorAll('[data-setting]')) {
    for (const button of group.querySelectorAll('button')) {
      button.addEventListener('click', () => void setFaults({ [group.dataset.setting]: Number(button.dataset.value) }));
    }
  }
  $('#reset-faults').addEventListener('click', () => void setFaults({ transientRate: 0, permanentRate: 0, delayMs: 0 }));
  $('#clear').addEventListener('click', () => void fetch('/messages', { method: 'DELETE' }));
  follow();
});
