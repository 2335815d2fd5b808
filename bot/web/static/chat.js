/* Relais web chat: plain JavaScript, no dependency, talks to the gateway's /api/chat API. */
(function () {
  'use strict';

  const MAX_LEN = 2000;
  const COUNTER_FROM = 1800;
  const SESSION_KEY = 'relais.chat.session';
  const LOG_KEY = 'relais.chat.log';
  const LOG_KEEP = 150;

  /** Static page chrome, by locale. Conversation content always comes from the server. */
  const I18N = {
    fr: {
      title: 'Relais — discuter', send: 'Envoyer', retry: 'Réessayer', notSent: 'non envoyé',
      subtitle: 'Orientation, apprentissage, formation : je t’aide à y voir clair.',
      privacy: 'Qui voit mes messages ?', logLabel: 'Conversation avec Relais',
      inputLabel: 'Ton message', placeholder: 'Écris ton message…', typing: 'Relais écrit…',
      you: 'Toi :', bot: 'Relais :', referent: 'Conseiller·e', newTab: ' (nouvel onglet)',
      waiting: 'En attente d’un·e conseiller·e', position: ' — position {n}',
      assigned: 'Un·e conseiller·e te répond', reconnecting: 'reconnexion…',
      netError: 'Ton message n’a pas pu être envoyé : la connexion a échoué. Tu peux réessayer.',
      startError: 'La conversation n’a pas pu démarrer : la connexion a échoué.',
      httpError: 'Une erreur est survenue (code {n}). Réessaie dans un instant.'
    },
    en: {
      title: 'Relais — chat', send: 'Send', retry: 'Try again', notSent: 'not sent',
      subtitle: 'Career guidance, apprenticeships, training: I help you see clearly.',
      privacy: 'Who sees my messages?', logLabel: 'Conversation with Relais',
      inputLabel: 'Your message', placeholder: 'Type your message…', typing: 'Relais is typing…',
      you: 'You:', bot: 'Relais:', referent: 'Counsellor', newTab: ' (new tab)',
      waiting: 'Waiting for a counsellor', position: ' — position {n}',
      assigned: 'A counsellor is answering you', reconnecting: 'reconnecting…',
      netError: 'Your message could not be sent: the connection failed. You can try again.',
      startError: 'The conversation could not start: the connection failed.',
      httpError: 'Something went wrong (code {n}). Please try again in a moment.'
    }
  };

  const $ = (id) => document.getElementById(id);
  const ui = {
    log: $('log'), scroller: $('scroller'), typing: $('typing'), handoff: $('handoff'),
    conn: $('conn'), form: $('composer'), input: $('input'), send: $('send'),
    counter: $('counter'), privacy: $('privacy')
  };
  const locale = pickLocale();
  let session = null;   // {session_id, token, locale, greeted}
  let busy = false;     // a request is in flight
  let events = null;    // EventSource, its give-up retry count and timer
  let eventsRetry = 0, eventsTimer = 0;

  /** @returns {'fr'|'en'} the locale: ?lang= wins, then navigator.language, then French. */
  function pickLocale() {
    const asked = new URLSearchParams(location.search).get('lang');
    if (asked === 'en' || asked === 'fr') return asked;
    return /^en/i.test(navigator.language || '') ? 'en' : 'fr';
  }

  /** Translate a chrome key, filling {placeholders}. */
  function t(key, vars) {
    const s = I18N[locale][key] || I18N.fr[key] || key;
    return s.replace(/\{(\w+)\}/g, (m, k) => (vars && k in vars ? String(vars[k]) : m));
  }

  /** Put the page chrome in the chosen language. */
  function applyChrome() {
    document.documentElement.lang = locale;
    document.title = t('title');
    document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll('[data-i18n-aria]').forEach((el) => el.setAttribute('aria-label', t(el.dataset.i18nAria)));
    document.querySelectorAll('[data-i18n-placeholder]').forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
    ui.conn.textContent = t('reconnecting');
  }

  /* ---------- storage (sessionStorage: forgotten when the tab closes) ---------- */

  function readJson(key) { try { return JSON.parse(sessionStorage.getItem(key) || 'null'); } catch (e) { return null; } }
  function writeJson(key, value) { try { sessionStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* full or disabled */ } }
  /** @returns the stored session if it matches the current locale, else null. */
  function loadSession() {
    const s = readJson(SESSION_KEY);
    return s && s.session_id && s.token && s.locale === locale ? s : null;
  }
  /** Forget the session (unknown or expired on the server); the next send creates a new one. */
  function dropSession() {
    session = null;
    closeEvents();
    writeJson(SESSION_KEY, null); writeJson(LOG_KEY, []);
  }
  /** Keep a rendered message so a reload of the tab shows the conversation again. */
  function remember(kind, text, buttons) {
    const log = (readJson(LOG_KEY) || []).concat([{ kind, text, buttons: buttons || [] }]);
    writeJson(LOG_KEY, log.slice(-LOG_KEEP));
  }

  /* ---------- rendering (textContent only: message text is never parsed as HTML) ---------- */

  /** Append text to el, turning http(s) URLs into safe links. */
  function appendLinkified(el, text) {
    const re = /\bhttps?:\/\/[^\s<>"']+/gi;
    let last = 0, m;
    while ((m = re.exec(text)) !== null) {
      const raw = m[0].replace(/[.,;:!?)\]»]+$/, '');
      let url = null;
      try { url = new URL(raw); } catch (e) { continue; }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
      el.append(text.slice(last, m.index), newTabLink(url.href, raw, 'msg-inline-link'));
      last = re.lastIndex = m.index + raw.length;
    }
    el.append(text.slice(last));
  }

  /** @returns {HTMLAnchorElement} a link opening in a new tab, without access to this page. */
  function newTabLink(href, text, className) {
    const a = document.createElement('a');
    a.href = href; a.textContent = text; a.className = className;
    a.target = '_blank'; a.rel = 'noopener noreferrer';
    return a;
  }

  /** Build the button group of a bot message: payload buttons and link buttons. */
  function renderButtons(buttons) {
    const group = document.createElement('div');
    group.className = 'msg-buttons';
    group.setAttribute('role', 'group');
    buttons.forEach((b) => {
      if (b.url && /^https?:\/\//i.test(b.url)) {
        const a = newTabLink(b.url, b.title || b.url, 'msg-button msg-link');
        a.setAttribute('aria-label', a.textContent + t('newTab'));
        group.append(a);
      } else if (b.payload) {
        const btn = document.createElement('button');
        btn.type = 'button'; btn.className = 'msg-button';
        btn.textContent = b.title || b.payload;
        btn.addEventListener('click', (ev) => onChoice(group, b, ev));
        group.append(btn);
      }
    });
    return group;
  }

  /** Disable one button group, or all groups (superseded by a new bot message: disabled for good). */
  function disableButtons(group) {
    const groups = group ? [group] : ui.log.querySelectorAll('.msg-buttons');
    groups.forEach((g) => {
      g.dataset.used = '1';
      if (!group) g.dataset.stale = '1';
      g.querySelectorAll('button').forEach((b) => { b.disabled = true; });
    });
  }

  /** Add a message (author label, text, buttons) and scroll to it. @param {'user'|'bot'|'referent'|'system'} kind */
  function addMessage(kind, text, buttons) {
    const el = document.createElement('div');
    el.className = 'msg msg-' + kind;
    const who = document.createElement('span');
    who.className = kind === 'referent' ? 'msg-author' : 'sr-only';
    who.textContent = { user: t('you'), bot: t('bot'), referent: t('referent') }[kind] || '';
    if (who.textContent) el.append(who);
    const body = document.createElement('div');
    body.className = 'msg-text';
    if (kind === 'user') body.textContent = text; else appendLinkified(body, text || '');
    if (text) el.append(body);
    if (buttons && buttons.length) el.append(renderButtons(buttons));
    ui.log.append(el);
    scrollDown();
    return el;
  }

  /** System notice, optionally with a "retry" button that runs `retry`. */
  function addNotice(text, retry) {
    const el = addMessage('system', text);
    if (retry) {
      const btn = document.createElement('button');
      btn.type = 'button'; btn.className = 'msg-retry'; btn.textContent = t('retry');
      btn.addEventListener('click', (ev) => { btn.remove(); if (ev.detail === 0) ui.input.focus(); retry(); });
      el.append(btn);
    }
    return el;
  }

  /** Render messages received from the server; older buttons are disabled first. */
  function renderIncoming(messages) {
    const list = (messages || []).filter((m) => m && (m.text || (m.buttons && m.buttons.length)));
    if (!list.length) return;
    const from = (m) => (m.from === 'referent' || m.from === 'system' ? m.from : 'bot');
    if (list.some((m) => from(m) !== 'system')) disableButtons();
    list.forEach((m) => {
      addMessage(from(m), m.text || '', m.buttons || []);
      remember(from(m), m.text || '', m.buttons || []);
    });
  }

  /** Show, update or hide the handoff status bar. */
  function updateHandoff(h) {
    if (session) { session.handoff = h || null; writeJson(SESSION_KEY, session); }
    if (!h || (h.status !== 'waiting' && h.status !== 'assigned')) {
      ui.handoff.hidden = true; ui.handoff.textContent = '';
      return;
    }
    const pos = Number(h.position);
    ui.handoff.textContent = h.status === 'assigned' ? t('assigned') : t('waiting') + (pos > 0 ? t('position', { n: pos }) : '');
    ui.handoff.hidden = false;
  }

  function scrollDown() { ui.scroller.scrollTop = ui.scroller.scrollHeight; }

  function setBusy(on) {
    busy = on;
    ui.send.disabled = on;
    ui.typing.hidden = !on;
    ui.log.setAttribute('aria-busy', on ? 'true' : 'false');
    if (on) scrollDown();
  }

  /** Show the character counter only near the limit. */
  function updateCounter() {
    const n = ui.input.value.length;
    ui.counter.hidden = n < COUNTER_FROM;
    ui.counter.textContent = n + ' / ' + MAX_LEN;
    ui.counter.classList.toggle('counter-full', n >= MAX_LEN);
    const before = ui.input.style.height;
    ui.input.style.height = 'auto'; // grow with the text, up to 160px (then it scrolls)
    if (n) ui.input.style.height = Math.min(ui.input.scrollHeight + 4, 160) + 'px';
    if (ui.input.style.height !== before) scrollDown();
  }

  /* ---------- API ---------- */

  /** POST JSON to the gateway. Resolves with {ok, status, data}; rejects on network failure only. */
  async function postJson(url, body, token) {
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    const res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin' });
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    return { ok: res.ok, status: res.status, data };
  }

  /** A random id for one message (idempotent retries). */
  function newMessageId() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  function postMessage(body) {
    const url = '/api/chat/sessions/' + encodeURIComponent(session.session_id) + '/messages';
    return postJson(url, body, session.token);
  }

  /** Create a session (the gateway also sets the HttpOnly cookie used by the event stream). */
  async function openSession() {
    const r = await postJson('/api/chat/sessions', { locale });
    if (!r.ok || !r.data || !r.data.session_id) throw r;
    session = { session_id: r.data.session_id, token: r.data.token, locale, greeted: false };
    writeJson(SESSION_KEY, session);
    writeJson(LOG_KEY, []);
    openEvents();
  }

  /**
   * Run one turn: make sure a greeted session exists, then send turn.body if any.
   * @param {{body?: object, label?: string, text?: string, group?: HTMLElement, bubble?: HTMLElement}} turn
   */
  async function send(turn) {
    if (busy) return;
    ui.log.querySelectorAll('.msg-retry').forEach((b) => b.remove());
    if (turn.label && !turn.bubble) turn.bubble = addMessage('user', turn.label);
    if (turn.bubble) turn.bubble.classList.remove('msg-failed');
    setBusy(true);
    try {
      if (!session) await openSession();
      if (!session.greeted) {
        const g = await postMessage({ payload: '/greet' });
        if (!g.ok) throw g;
        session.greeted = true;
        writeJson(SESSION_KEY, session);
        renderIncoming(g.data && g.data.messages);
        updateHandoff(g.data && g.data.handoff);
      }
      if (turn.body) {
        // One id per turn, kept across retries: the gateway answers a repeat without
        // sending it to the assistant twice.
        if (!turn.body.client_message_id) turn.body.client_message_id = newMessageId();
        const r = await postMessage(turn.body);
        if (!r.ok) throw r;
        if (turn.label) remember('user', turn.label);
        if (turn.text && ui.input.value.trim() === turn.text) { ui.input.value = ''; updateCounter(); }
        renderIncoming(r.data && r.data.messages);
        updateHandoff(r.data && r.data.handoff);
        // The person's data was erased: this tab forgets its copy too (a reload shows an
        // empty chat); the next message starts a new session.
        if (r.data && r.data.forget) dropSession();
      }
    } catch (err) {
      failed(turn, err);
    } finally {
      setBusy(false);
    }
  }

  /** Tell the user what went wrong, give their text back, and offer a retry when it can help. */
  function failed(turn, err) {
    const isHttp = err && typeof err.status === 'number';
    const lost = isHttp && session && [401, 403, 404].includes(err.status);
    if (lost) dropSession();
    let text = !turn.body && !isHttp ? t('startError') : t('netError');
    if (isHttp) text = (err.data && typeof err.data.error === 'string' && err.data.error) || t('httpError', { n: err.status });
    if (turn.bubble) { turn.bubble.classList.add('msg-failed'); turn.bubble.dataset.note = t('notSent'); }
    if (turn.text && !ui.input.value.trim()) { ui.input.value = turn.text; updateCounter(); }
    if (turn.group && !turn.group.dataset.stale) {
      turn.group.querySelectorAll('button').forEach((b) => { b.disabled = false; });
      delete turn.group.dataset.used;
    }
    const canRetry = lost || !isHttp || err.status >= 500 || err.status === 429 || !turn.body;
    addNotice(text, canRetry ? () => send(turn) : null);
  }

  /* ---------- Server-Sent Events (authenticated by the HttpOnly cookie) ---------- */

  function closeEvents() {
    clearTimeout(eventsTimer);
    if (events) { events.close(); events = null; }
    ui.conn.hidden = true;
  }

  /** Open the event stream; EventSource reconnects by itself, we only retry if it gives up. */
  function openEvents() {
    closeEvents();
    if (!session || typeof EventSource === 'undefined') return;
    const url = '/api/chat/sessions/' + encodeURIComponent(session.session_id) + '/events';
    const es = new EventSource(url, { withCredentials: true });
    events = es;
    es.onopen = () => { eventsRetry = 0; ui.conn.hidden = true; };
    es.onmessage = (ev) => onEvent(ev.data);
    es.onerror = () => {
      ui.conn.hidden = false;
      if (es.readyState === EventSource.CLOSED && events === es) {
        eventsTimer = setTimeout(openEvents, Math.min(30000, 2000 * Math.pow(2, eventsRetry++)));
      }
    };
  }

  /** One event: a message (+ "from") and maybe a handoff update. */
  function onEvent(raw) {
    let data = null;
    try { data = JSON.parse(raw); } catch (e) { /* not JSON: ignored */ }
    if (!data || typeof data !== 'object') return;
    if ('handoff' in data) updateHandoff(data.handoff);
    renderIncoming([data]);
  }

  /* ---------- user actions ---------- */

  /** A bot button was chosen: show its title, send its payload, once. */
  function onChoice(group, b, ev) {
    if (busy || group.dataset.used) return;
    disableButtons(group);
    if (ev.detail === 0) ui.input.focus();
    send({ body: { payload: b.payload }, label: b.title || b.payload, group });
  }

  function onSubmit(ev) {
    ev.preventDefault();
    const text = ui.input.value.trim();
    if (!text || busy) return;
    ui.input.value = '';
    updateCounter();
    send({ body: { text }, label: text, text });
  }

  function onKeydown(ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      ui.form.requestSubmit ? ui.form.requestSubmit() : onSubmit(ev);
    }
  }

  /** Show the conversation stored for this tab (after a reload). */
  function restore() {
    (readJson(LOG_KEY) || []).forEach((m) => addMessage(m.kind, m.text, m.buttons));
    const lastMsg = ui.log.lastElementChild;
    ui.log.querySelectorAll('.msg-buttons').forEach((g) => { if (g.parentElement !== lastMsg) disableButtons(g); });
    if (session) updateHandoff(session.handoff);
  }

  function init() {
    applyChrome();
    ui.form.addEventListener('submit', onSubmit);
    ui.input.addEventListener('keydown', onKeydown);
    ui.input.addEventListener('input', updateCounter);
    ui.privacy.addEventListener('click', () => send({ body: { payload: '/privacy_question' }, label: t('privacy') }));
    session = loadSession();
    if (session) { restore(); openEvents(); }
    if (!session || !session.greeted) send({});
  }

  init();
}());
