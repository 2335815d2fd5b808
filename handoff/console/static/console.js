/* Relais référent console: plain JavaScript, no dependency, talks to /console/api (API.md).
 *
 * Every text that comes from the API (messages, notes, names, labels, questions) is put in
 * the page with textContent or as text nodes, never parsed as HTML.
 */
(function () {
  'use strict';

  const API = '/console/api';
  const REPLY_MAX = 2000;
  const NOTE_MAX = 4000;
  const COUNTER_FROM = 1800;
  const PASSWORD_MIN = 12;
  const AUDIT_PAGE = 50;            // rows of the access log per page
  const SAFETY_REFRESH_MS = 60000;   // reload the queue even if an event was missed
  const INFO_BANNER_MS = 10000;
  const SOUND_KEY = 'relais.console.sound';
  const BASE_TITLE = 'Relais — console des référents';

  const LABELS = {
    priority: { urgent: 'Urgent', high: 'Prioritaire', normal: 'Normal' },
    status: {
      requested: 'Demandée (réponse de la personne attendue)', waiting: 'En attente',
      assigned: 'Prise en charge', closed: 'Close'
    },
    channel: { web: 'Web', telegram: 'Telegram' },
    language: { fr: 'français', en: 'anglais' },
    role: { referent: 'Référent·e', supervisor: 'Superviseur·e' },
    sender: { user: 'Jeune', bot: 'Assistant Relais', referent: 'Référent·e', system: 'Système' },
    // Only what needs the référent's attention: "done" and "pending" (the web page has not
    // fetched it yet) say nothing.
    delivery: {
      failed: 'Pas encore remis : la messagerie ne l’a pas pris, nouvel essai automatique.',
      refused: 'Non remis : la messagerie l’a refusé (la personne a peut-être bloqué le bot).',
      unconfirmed: 'Remise non confirmée : la messagerie n’a pas répondu à temps (pas renvoyé, pour éviter un doublon).',
      expired: 'Non remis : la messagerie ne l’a pas pris pendant 2 heures ; renvoyez-le si c’est encore utile.'
    },
    outcome: {
      information_given: 'Information donnée', oriented_to_service: 'Orientation vers un service',
      appointment_set: 'Rendez-vous fixé', urgent_service_contacted: 'Service d’urgence contacté',
      follow_up: 'Suivi à prévoir', no_answer: 'Sans réponse de la personne',
      returned_to_bot: 'Rendue à l’assistant', cancelled_by_user: 'Annulée par la personne',
      declined: 'Refusée par la personne'
    }
  };
  const TEXT = {
    net: 'Le serveur ne répond pas : vérifiez la connexion puis réessayez.',
    expired: 'Votre session a expiré ou a été fermée : reconnectez-vous. Ce que vous aviez écrit est conservé.',
    badLogin: 'Adresse e-mail ou mot de passe incorrect.',
    noHistory: 'La personne n’a pas partagé l’historique : vous voyez les messages depuis sa demande.',
    history: 'La personne a partagé l’historique : vous voyez toute la conversation.',
    urgent: 'Nouvelle demande urgente dans la file d’attente.',
    connLost: 'Connexion perdue, reconnexion…',
    connOpen: 'En direct',
    connConnecting: 'Connexion au direct…'
  };

  /* ---------- DOM helpers ---------- */

  const $ = (id) => document.getElementById(id);

  /**
   * Create an element. props: text (textContent), class, dataset, on<event> handlers, any
   * other attribute. Children are nodes or strings (strings become text nodes, never HTML).
   */
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [key, value] of Object.entries(props)) {
        if (value === null || value === undefined || value === false) continue;
        if (key === 'text') node.textContent = String(value);
        else if (key === 'class') node.className = value;
        else if (key === 'dataset') Object.assign(node.dataset, value);
        else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value === true ? '' : String(value));
      }
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child);
    }
    return node;
  }

  /** A small warning triangle (decorative: the text next to it says "Urgent"). */
  function warningIcon() {
    const NS = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('viewBox', '0 0 16 16');
    svg.setAttribute('width', '14');
    svg.setAttribute('height', '14');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('class', 'icon');
    const path = document.createElementNS(NS, 'path');
    path.setAttribute('d', 'M8 1.2 15.3 14H.7zM7.1 5.6v4.6h1.8V5.6zm0 5.8v1.8h1.8v-1.8z');
    path.setAttribute('fill', 'currentColor');
    path.setAttribute('fill-rule', 'evenodd');
    svg.append(path);
    return svg;
  }

  const ui = {
    loading: $('loading'), login: $('login'), loginForm: $('login-form'), loginEmail: $('login-email'),
    loginPassword: $('login-password'), loginError: $('login-error'), loginSubmit: $('login-submit'),
    app: $('app'), who: $('who'), meName: $('me-name'), meRole: $('me-role'), conn: $('conn'),
    sound: $('sound'), logout: $('logout'),
    banner: $('banner'), bannerActions: $('banner-actions'), bannerShow: $('banner-show'), bannerClose: $('banner-close'),
    tabs: $('tabs'),
    waitingBlock: $('waiting-block'), listWaiting: $('list-waiting'), listMine: $('list-mine'), listOthers: $('list-others'),
    othersBlock: $('others-block'), queueError: $('queue-error'),
    noConversation: $('no-conversation'), conversation: $('conversation'), convTitle: $('conv-title'),
    convClaim: $('conv-claim'), convHide: $('conv-hide'), convMeta: $('conv-meta'), convState: $('conv-state'),
    convHistory: $('conv-history'), assessment: $('assessment'), assessmentList: $('assessment-list'),
    transcript: $('transcript'), replyForm: $('reply-form'), quickReplies: $('quick-replies'),
    reply: $('reply-input'), replySend: $('reply-send'), replyCounter: $('reply-counter'),
    replyError: $('reply-error'), replyOff: $('reply-off'),
    actions: $('actions'), release: $('release-button'), transferSelect: $('transfer-select'),
    transfer: $('transfer-button'), returnBot: $('return-button'), closeForm: $('close-form'),
    closeOutcome: $('close-outcome'), close: $('close-button'), actionError: $('action-error'),
    notesList: $('notes-list'), noteForm: $('note-form'), note: $('note-input'), noteError: $('note-error'),
    noteAdd: $('note-add'),
    statsForm: $('stats-form'), statsDays: $('stats-days'), statsCsv: $('stats-csv'), statsPeriod: $('stats-period'),
    statsError: $('stats-error'), statsBody: $('stats-body'),
    accountsBody: $('accounts-body'), accountsStatus: $('accounts-status'), accountsError: $('accounts-error'),
    accountForm: $('account-form'), accEmail: $('acc-email'), accName: $('acc-name'), accPassword: $('acc-password'),
    accRole: $('acc-role'), accTerritories: $('acc-territories'), accUnder16: $('acc-under16'),
    accCapacity: $('acc-capacity'), accountError: $('account-error'), accountSubmit: $('account-submit'),
    auditForm: $('audit-form'), auditReferent: $('audit-referent'), auditHandoff: $('audit-handoff'),
    auditSince: $('audit-since'), auditUntil: $('audit-until'), auditCsv: $('audit-csv'),
    auditStatus: $('audit-status'), auditError: $('audit-error'), auditBody: $('audit-body'),
    auditEmpty: $('audit-empty'), auditMore: $('audit-more'),
    confirm: $('confirm'), confirmText: $('confirm-text'), confirmOk: $('confirm-ok'), confirmCancel: $('confirm-cancel')
  };

  const state = {
    me: null,
    csrf: null,
    lastUserId: null,          // who was logged in before a lost session (drafts are theirs)
    queue: { waiting: [], mine: [], others: [] },
    queueAt: 0,                // Date.now() when the queue was read (waiting_seconds is from then)
    queueSeq: 0,
    queueTimer: 0,
    currentId: null,           // the conversation shown (string)
    current: null,             // its GET /handoffs/{id} answer
    convSeq: 0,
    renderedMessages: new Set(),
    unread: new Set(),         // handoff ids with messages not seen yet
    drafts: new Map(),         // handoff id -> reply being written
    assignChoice: new Map(),   // handoff id -> colleague chosen in "Attribuer à"
    colleagues: [],            // active référents, for supervisors' "Attribuer à"
    territories: null,
    reasonLabels: {},
    es: null, esRetry: 0, esTimer: 0, esOpened: false,
    tickTimer: 0, safetyTimer: 0, bannerTimer: 0,
    loginLockTimer: 0,
    sending: false,
    acting: false,
    urgentUnseen: false,
    tab: 'queue',
    audit: { query: '', next: null, seq: 0 },   // access log: filters shown, next older page
    audio: null
  };

  /* ---------- formatting ---------- */

  /** "45 s", "3 min 20 s", "2 h 5 min", "1 j 3 h"; "—" when unknown. */
  function formatDuration(seconds) {
    if (seconds === null || seconds === undefined || seconds === '') return '—';
    let sec = Number(seconds);
    if (!Number.isFinite(sec)) return '—';
    sec = Math.max(0, Math.round(sec));
    if (sec < 60) return sec + ' s';
    const d = Math.floor(sec / 86400);
    const h = Math.floor((sec % 86400) / 3600);
    const m = Math.floor((sec % 3600) / 60);
    const s = sec % 60;
    if (d) return d + ' j' + (h ? ' ' + h + ' h' : '');
    if (h) return h + ' h' + (m ? ' ' + m + ' min' : '');
    return m + ' min' + (s ? ' ' + s + ' s' : '');
  }

  function parseDate(iso) {
    if (!iso) return null;
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? null : d;
  }

  /** "14:05" today, "21/11 14:05" another day. */
  function formatTime(iso) {
    const d = parseDate(iso);
    if (!d) return '';
    const time = d.toLocaleTimeString('fr-FR', { hour: '2-digit', minute: '2-digit' });
    const today = new Date();
    if (d.toDateString() === today.toDateString()) return time;
    return d.toLocaleDateString('fr-FR', { day: '2-digit', month: '2-digit' }) + ' ' + time;
  }

  function formatDate(iso) {
    const d = parseDate(iso);
    return d ? d.toLocaleDateString('fr-FR', { day: 'numeric', month: 'long', year: 'numeric' }) : '';
  }

  function label(group, key) {
    if (key === null || key === undefined) return '—';
    return (LABELS[group] && LABELS[group][key]) || String(key);
  }

  function reasonText(s) {
    return s.reason_label || state.reasonLabels[s.reason] || s.reason || 'Demande';
  }

  function territoryText(s) {
    return s.territory_name || s.territory || 'Territoire non précisé';
  }

  /** A self-assessment key ("niveau_etudes") as a readable label ("Niveau etudes"). */
  function humanKey(key) {
    const text = String(key).replace(/[_-]+/g, ' ').trim();
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : String(key);
  }

  /** A self-assessment value as plain text. */
  function humanValue(value) {
    if (value === null || value === undefined || value === '') return '—';
    if (value === true) return 'Oui';
    if (value === false) return 'Non';
    if (Array.isArray(value)) return value.length ? value.map(humanValue).join(', ') : '—';
    if (typeof value === 'object') {
      return Object.entries(value).map(([k, v]) => humanKey(k) + ' : ' + humanValue(v)).join(' ; ');
    }
    return String(value);
  }

  const idOf = (value) => String(value);
  const enc = encodeURIComponent;

  /* ---------- API ---------- */

  class ApiError extends Error {
    constructor(status, data, message) {
      super(message);
      this.status = status;
      this.data = data;
    }
  }

  function errorText(status, data) {
    if (data && typeof data.error === 'string' && data.error.trim()) return data.error.trim();
    if (status >= 500) return 'Le serveur n’a pas pu traiter la demande (code ' + status + '). Réessayez dans un instant.';
    return 'La demande n’a pas abouti (code ' + status + ').';
  }

  /**
   * Call the console API. Resolves with the JSON body (null for 204); rejects with an
   * ApiError (status 0 for a network failure). A 401 shows the login form again, unless
   * opts.allow401. A 403 on a write refreshes the CSRF token once and retries.
   */
  async function api(method, path, body, opts) {
    const options = opts || {};
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
    let res;
    try {
      res = await fetch(API + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store'
      });
    } catch (e) {
      throw new ApiError(0, null, TEXT.net);
    }
    let data = null;
    if (res.status !== 204) {
      try { data = await res.json(); } catch (e) { data = null; }
    }
    if (res.ok) return data;
    if (res.status === 401 && !options.allow401) {
      sessionLost();
      throw new ApiError(401, data, TEXT.expired);
    }
    if (res.status === 403 && method !== 'GET' && !options.retried && !options.allow401) {
      const before = state.csrf;
      const me = await refreshMe();
      if (me && state.csrf && state.csrf !== before) {
        return api(method, path, body, Object.assign({}, options, { retried: true }));
      }
    }
    throw new ApiError(res.status, data, errorText(res.status, data));
  }

  /** Read /me again (fresh CSRF token); null when it failed. */
  async function refreshMe() {
    try {
      const me = await api('GET', '/me');
      if (me && state.me) {
        state.me = me;
        state.csrf = me.csrf_token || state.csrf;
      }
      return me;
    } catch (e) {
      return null;
    }
  }

  /* ---------- banner (aria-live) ---------- */

  /** Show a message in the banner. kind: 'error' | 'urgent' | 'info'. */
  function showBanner(text, kind, withShow) {
    clearTimeout(state.bannerTimer);
    ui.banner.replaceChildren();
    ui.banner.className = 'banner';
    if (!text) {
      ui.bannerActions.hidden = true;
      return;
    }
    ui.banner.classList.add('banner-' + (kind || 'info'));
    const p = el('p', { class: 'banner-text' }, kind === 'urgent' ? warningIcon() : null, text);
    ui.banner.append(p);
    ui.bannerActions.hidden = false;
    ui.bannerActions.className = 'banner-actions banner-actions-' + (kind || 'info');
    ui.bannerShow.hidden = !withShow;
    if (kind === 'info') state.bannerTimer = setTimeout(() => showBanner(''), INFO_BANNER_MS);
  }

  /** Show an API error where it belongs; a lost session already shows the login form. */
  function report(err, region) {
    if (err && err.status === 401) return;
    const text = (err && err.message) || TEXT.net;
    if (region) region.textContent = text;
    else showBanner(text, 'error');
  }

  /* ---------- sign in / out ---------- */

  async function start() {
    bind();
    try {
      const me = await api('GET', '/me', undefined, { allow401: true });
      enter(me);
    } catch (e) {
      showLogin(e.status === 401 ? '' : e.message);
    }
  }

  function showLogin(message) {
    stopLive();
    if (state.me) state.lastUserId = state.me.id;
    saveDraft();
    state.me = null;
    state.csrf = null;
    clearRendered();
    ui.loading.hidden = true;
    ui.app.hidden = true;
    ui.who.hidden = true;
    ui.login.hidden = false;
    ui.loginError.textContent = message || '';
    ui.loginSubmit.disabled = false;
    document.title = BASE_TITLE;
    (ui.loginEmail.value ? ui.loginPassword : ui.loginEmail).focus();
  }

  /** The session ended on the server (401 somewhere): back to the login form, drafts kept. */
  function sessionLost() {
    if (!state.me) return;
    showBanner('');
    showLogin(TEXT.expired);
  }

  /** Empty what shows the young people's data (lists, transcript, notes); drafts stay in memory. */
  function clearRendered() {
    state.queue = { waiting: [], mine: [], others: [] };
    state.current = null;
    state.renderedMessages.clear();
    [ui.listWaiting, ui.listMine, ui.listOthers, ui.transcript, ui.notesList, ui.assessmentList,
      ui.convMeta, ui.quickReplies, ui.statsBody, ui.accountsBody, ui.auditBody].forEach((n) => n.replaceChildren());
    resetAudit();
    resetAppointments();
    ui.conversation.hidden = true;
    ui.noConversation.hidden = false;
    ui.waitingBlock.dataset.loaded = 'false';
    ui.waitingBlock.setAttribute('aria-busy', 'true');
  }

  function enter(me) {
    if (!me || !me.id) {
      showLogin(TEXT.net);
      return;
    }
    if (state.lastUserId && state.lastUserId !== me.id) {
      // Someone else signs in on this browser: nothing of the previous person stays.
      state.drafts.clear();
      state.unread.clear();
      state.assignChoice.clear();
      state.currentId = null;
      ui.reply.value = '';
      ui.note.value = '';
    }
    state.me = me;
    state.csrf = me.csrf_token || null;
    state.lastUserId = me.id;
    const supervisor = isSupervisor();
    ui.meName.textContent = me.display_name || me.email || '';
    ui.meRole.textContent = label('role', me.role);
    ui.loading.hidden = true;
    ui.login.hidden = true;
    ui.loginError.textContent = '';
    ui.who.hidden = false;
    ui.app.hidden = false;
    ui.tabs.hidden = !supervisor;
    ui.othersBlock.hidden = !supervisor;
    selectTab('queue', false);
    openEvents();
    loadQueue();
    clearInterval(state.tickTimer);
    state.tickTimer = setInterval(tick, 1000);
    clearInterval(state.safetyTimer);
    state.safetyTimer = setInterval(() => loadQueue(), SAFETY_REFRESH_MS);
    if (supervisor) loadColleagues();
    if (state.currentId) openConversation(state.currentId, {});
    if (document.activeElement === document.body || ui.login.contains(document.activeElement)) $('main').focus();
  }

  function stopLive() {
    closeEvents();
    clearInterval(state.tickTimer);
    clearInterval(state.safetyTimer);
    clearTimeout(state.queueTimer);
  }

  function isSupervisor() {
    return !!(state.me && state.me.role === 'supervisor');
  }

  async function onLogin(ev) {
    ev.preventDefault();
    if (ui.loginSubmit.disabled) return;
    ui.loginError.textContent = '';
    const email = ui.loginEmail.value.trim();
    const password = ui.loginPassword.value;
    if (!email || !password) {
      ui.loginError.textContent = 'Indiquez votre adresse e-mail et votre mot de passe.';
      (email ? ui.loginPassword : ui.loginEmail).focus();
      return;
    }
    ui.loginSubmit.disabled = true;
    let lockedFor = 0;
    try {
      const data = await api('POST', '/login', { email, password }, { allow401: true });
      ui.loginPassword.value = '';
      const me = data && data.me ? data.me : await api('GET', '/me', undefined, { allow401: true });
      enter(me);
    } catch (e) {
      let text = e.status === 401 ? (e.data && e.data.error) || TEXT.badLogin : e.message;
      if (e.status === 429) {
        lockedFor = Math.ceil(Number(e.data && e.data.retry_after) || 0);
        if (lockedFor > 0) text += ' Nouvel essai possible dans ' + formatDuration(lockedFor) + '.';
      }
      ui.loginError.textContent = text;
      ui.loginPassword.value = '';
      ui.loginPassword.focus();
    } finally {
      if (lockedFor > 0) {
        clearTimeout(state.loginLockTimer);
        state.loginLockTimer = setTimeout(() => { ui.loginSubmit.disabled = false; }, lockedFor * 1000);
      } else {
        ui.loginSubmit.disabled = false;
      }
    }
  }

  async function onLogout() {
    ui.logout.disabled = true;
    try {
      await api('POST', '/logout', undefined, { allow401: true });
    } catch (e) {
      if (e.status !== 401) {
        ui.logout.disabled = false;
        showBanner('La déconnexion a échoué : ' + e.message, 'error');
        return;
      }
    }
    ui.logout.disabled = false;
    state.drafts.clear();
    state.unread.clear();
    state.assignChoice.clear();
    state.currentId = null;
    state.lastUserId = null;
    state.me = null;
    ui.reply.value = '';
    ui.note.value = '';
    ui.loginEmail.value = '';
    showLogin('');
    showBanner('Vous êtes déconnecté·e.', 'info');
  }

  /* ---------- tabs (supervisors) ---------- */

  function tabButtons() {
    return Array.from(ui.tabs.querySelectorAll('[role="tab"]'));
  }

  function selectTab(name, focus) {
    state.tab = name;
    tabButtons().forEach((tab) => {
      const on = tab.dataset.tab === name;
      tab.setAttribute('aria-selected', on ? 'true' : 'false');
      tab.tabIndex = on ? 0 : -1;
      $(tab.getAttribute('aria-controls')).hidden = !on;
      if (on && focus) tab.focus();
    });
    if (name === 'stats') loadStats();
    if (name === 'accounts') loadAccounts();
    if (name === 'audit') {
      loadAuditReferents();
      loadAudit(false);
    }
  }

  function onTabKey(ev) {
    const tabs = tabButtons().filter((t) => !t.hidden);
    const i = tabs.indexOf(document.activeElement);
    if (i < 0) return;
    let next = -1;
    if (ev.key === 'ArrowRight') next = (i + 1) % tabs.length;
    else if (ev.key === 'ArrowLeft') next = (i - 1 + tabs.length) % tabs.length;
    else if (ev.key === 'Home') next = 0;
    else if (ev.key === 'End') next = tabs.length - 1;
    if (next < 0) return;
    ev.preventDefault();
    selectTab(tabs[next].dataset.tab, true);
  }

  /* ---------- live events (Server-Sent Events, cookie auth) ---------- */

  function setConn(kind) {
    ui.conn.dataset.state = kind;
    ui.conn.textContent = { open: TEXT.connOpen, lost: TEXT.connLost, connecting: TEXT.connConnecting }[kind] || '';
  }

  function closeEvents() {
    clearTimeout(state.esTimer);
    if (state.es) state.es.close();
    state.es = null;
    state.esOpened = false;
    setConn('closed');
  }

  /** EventSource reconnects by itself; when it gives up (e.g. the server refused), we check
   * the session and try again later. */
  function openEvents() {
    closeEvents();
    if (typeof EventSource === 'undefined') {
      setConn('closed');
      return;
    }
    const es = new EventSource(API + '/events');
    state.es = es;
    setConn('connecting');
    es.onopen = () => {
      if (state.es !== es) return;
      state.esRetry = 0;
      setConn('open');
      const reopened = state.esOpened;
      state.esOpened = true;
      // Events may have been missed while disconnected.
      scheduleQueue();
      if (reopened && state.currentId) openConversation(state.currentId, {});
    };
    es.onmessage = (ev) => {
      if (state.es === es) onEvent(ev.data);
    };
    es.onerror = () => {
      if (state.es !== es) return;
      setConn('lost');
      if (es.readyState === EventSource.CLOSED) {
        es.close();
        state.es = null;
        const delay = Math.min(30000, 2000 * Math.pow(2, state.esRetry++));
        state.esTimer = setTimeout(async () => {
          if (!state.me) return;
          try {
            await api('GET', '/me');
          } catch (e) {
            if (e.status === 401) return; // the login form is shown
          }
          if (state.me) openEvents();
        }, delay);
      }
    };
  }

  function onEvent(raw) {
    let ev = null;
    try { ev = JSON.parse(raw); } catch (e) { return; }
    if (!ev || typeof ev !== 'object') return;
    if (ev.type === 'queue') scheduleQueue();
    else if (ev.type === 'urgent') onUrgent(ev);
    else if (ev.type === 'message') onMessageEvent(ev);
    else if (ev.type === 'appointment') onAppointmentEvent(ev);
  }

  function onUrgent() {
    scheduleQueue();
    state.urgentUnseen = document.hidden || !document.hasFocus();
    showBanner(TEXT.urgent, 'urgent', true);
    beep();
    updateTitle();
  }

  function onMessageEvent(ev) {
    if (ev.handoff_id === undefined || ev.handoff_id === null) return;
    const id = idOf(ev.handoff_id);
    if (id === state.currentId && state.current && ev.message) {
      appendMessage(ev.message, true);
      return;
    }
    state.unread.add(id);
    renderQueue();
  }

  /** A short tone made on the fly (no sound file), if the référent left it on. */
  function beep() {
    if (!ui.sound.checked) return;
    try {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      state.audio = state.audio || new Ctx();
      const ctx = state.audio;
      if (ctx.state === 'suspended' && ctx.resume) ctx.resume();
      [0, 0.3].forEach((offset) => {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        const t0 = ctx.currentTime + offset;
        osc.type = 'sine';
        osc.frequency.value = 880;
        gain.gain.setValueAtTime(0.0001, t0);
        gain.gain.exponentialRampToValueAtTime(0.2, t0 + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.25);
        osc.connect(gain);
        gain.connect(ctx.destination);
        osc.start(t0);
        osc.stop(t0 + 0.26);
      });
    } catch (e) { /* no audio: the banner is enough */ }
  }

  function updateTitle() {
    const waiting = state.queue.waiting.length;
    const urgent = state.queue.waiting.some((s) => s.priority === 'urgent');
    const unread = state.unread.size;
    let prefix = '';
    if (urgent && state.urgentUnseen) prefix += '⚠ ';
    if (waiting) prefix += '(' + waiting + ') ';
    if (unread) prefix += '• ';
    document.title = state.me ? prefix + BASE_TITLE : BASE_TITLE;
  }

  /* ---------- queue ---------- */

  function scheduleQueue() {
    clearTimeout(state.queueTimer);
    state.queueTimer = setTimeout(loadQueue, 150);
  }

  async function loadQueue() {
    if (!state.me) return;
    const seq = ++state.queueSeq;
    try {
      const q = await api('GET', '/queue');
      if (seq !== state.queueSeq || !state.me) return;
      state.queue = {
        waiting: (q && q.waiting) || [],
        mine: (q && q.mine) || [],
        others: (q && q.others) || []
      };
      state.queueAt = Date.now();
      ui.queueError.textContent = '';
      renderQueue();
      ui.waitingBlock.dataset.loaded = 'true';
      ui.waitingBlock.setAttribute('aria-busy', 'false');
    } catch (e) {
      if (seq !== state.queueSeq) return;
      if (e.status !== 401) ui.queueError.textContent = 'La file n’a pas pu être chargée : ' + e.message;
    }
  }

  function renderQueue() {
    if (!state.me) return;
    const active = document.activeElement;
    const focusKey = active && active.dataset ? active.dataset.focusKey : null;
    const focusInLists = !!(active && active.closest && active.closest('.lists'));
    const q = state.queue;
    [q.waiting, q.mine, q.others].flat().forEach((s) => {
      if (s.reason && s.reason_label) state.reasonLabels[s.reason] = s.reason_label;
    });
    renderList(ui.listWaiting, q.waiting, 'waiting', $('count-waiting'), $('empty-waiting'));
    renderList(ui.listMine, q.mine, 'mine', $('count-mine'), $('empty-mine'));
    if (isSupervisor()) renderList(ui.listOthers, q.others, 'others', $('count-others'), $('empty-others'));
    // Keep the keyboard focus where it was when the lists are drawn again.
    if (focusKey) {
      const again = document.querySelector('[data-focus-key="' + CSS.escape(focusKey) + '"]');
      if (again) again.focus();
      else if (focusInLists) $('h-waiting').focus();
    }
    updateTitle();
    tick();
  }

  function renderList(list, items, kind, counter, empty) {
    list.replaceChildren(...items.map((s) => renderItem(s, kind)));
    counter.textContent = items.length ? '(' + items.length + ')' : '';
    empty.hidden = items.length > 0;
  }

  function priorityBadge(priority) {
    const p = LABELS.priority[priority] ? priority : 'normal';
    return el('span', { class: 'badge prio prio-' + p },
      p === 'urgent' ? warningIcon() : null, label('priority', p));
  }

  /** The detail tags of a request: territory, age, channel, language, escalation. */
  function detailTags(s) {
    const tags = [
      el('li', { class: 'tag' }, el('span', { class: 'sr-only', text: 'Territoire : ' }), territoryText(s)),
      el('li', { class: 'tag' }, el('span', { class: 'sr-only', text: 'Canal : ' }), label('channel', s.channel)),
      el('li', { class: 'tag' }, 'Langue : ' + label('language', s.language))
    ];
    if (s.under_16) tags.splice(1, 0, el('li', { class: 'tag tag-u16', text: 'moins de 16 ans' }));
    if (s.escalated) tags.push(el('li', { class: 'tag tag-escalated', text: 'Escaladée : attente trop longue' }));
    return tags;
  }

  function waitingSpan(s) {
    let base = s.waiting_seconds;
    if ((base === null || base === undefined) && s.queued_at) {
      const d = parseDate(s.queued_at);
      if (d) base = Math.max(0, Math.round((state.queueAt - d.getTime()) / 1000));
    }
    return el('span', { class: 'js-wait wait-time', dataset: { base: base === null || base === undefined ? '' : String(base) } },
      formatDuration(base));
  }

  function renderItem(s, kind) {
    const id = idOf(s.id);
    const reason = reasonText(s);
    const li = el('li', {
      class: 'item item-' + (LABELS.priority[s.priority] ? s.priority : 'normal') + (state.currentId === id ? ' is-open' : ''),
      'data-testid': 'queue-item',
      'data-handoff-id': id,
      'data-priority': s.priority || 'normal',
      'aria-current': state.currentId === id ? 'true' : null
    });
    const head = el('p', { class: 'item-head' }, priorityBadge(s.priority), ' ',
      el('span', { class: 'reason', text: reason }));
    if (state.unread.has(id)) head.append(el('span', { class: 'badge badge-new', text: 'Nouveaux messages' }));
    li.append(head, el('ul', { class: 'tags', 'aria-label': 'Détails' }, detailTags(s)));

    const number = el('span', { class: 'item-id', text: 'n° ' + id });
    if (kind === 'waiting') {
      li.append(el('p', { class: 'item-time' }, number, ' · Attend depuis ', waitingSpan(s)));
    } else {
      let when = '';
      if (kind === 'others' && s.referent) {
        when = 'Tenue par ' + (s.referent.display_name || '?') + (s.claimed_at ? ' depuis ' + formatTime(s.claimed_at) : '');
      } else if (s.claimed_at) {
        when = 'Prise en charge à ' + formatTime(s.claimed_at);
      }
      li.append(el('p', { class: 'item-time' }, number, when ? ' · ' + when : ''));
    }

    const actions = el('div', { class: 'item-actions' });
    if (kind === 'waiting') {
      actions.append(el('button', {
        type: 'button', class: 'btn btn-primary', 'data-testid': 'claim-button',
        'aria-label': 'Prendre la demande n° ' + id + ' : ' + reason + ', ' + label('priority', s.priority),
        dataset: { focusKey: 'claim-' + id },
        onclick: (ev) => claim(id, ev.currentTarget)
      }, 'Prendre'));
    } else {
      actions.append(el('button', {
        type: 'button', class: 'btn', 'data-testid': 'open-button',
        'aria-label': 'Ouvrir la conversation n° ' + id + ' : ' + reason,
        dataset: { focusKey: 'open-' + id },
        onclick: () => openConversation(id, { focus: true })
      }, state.currentId === id ? 'Ouverte' : 'Ouvrir'));
    }
    if (isSupervisor() && (kind === 'others' || kind === 'waiting')) actions.append(assignControl(s, kind));
    li.append(actions);
    return li;
  }

  /** Supervisors: "Attribuer à" a colleague (a waiting or held conversation). */
  function assignControl(s, kind) {
    const id = idOf(s.id);
    const selectId = 'assign-' + kind + '-' + id;
    const chosen = state.assignChoice.get(id) || '';
    const holder = s.referent ? idOf(s.referent.id) : null;
    const select = el('select', {
      id: selectId, 'data-testid': 'assign-select', dataset: { focusKey: 'assign-select-' + id },
      onchange: (ev) => state.assignChoice.set(id, ev.currentTarget.value)
    }, el('option', { value: '', text: 'Choisir…' }));
    state.colleagues.filter((c) => idOf(c.id) !== holder).forEach((c) => {
      const me = state.me && idOf(c.id) === idOf(state.me.id);
      select.append(el('option', { value: idOf(c.id), selected: idOf(c.id) === chosen, text: (c.display_name || c.email || '?') + (me ? ' (moi)' : '') }));
    });
    return el('div', { class: 'assign' },
      el('label', { for: selectId, text: 'Attribuer à' }),
      select,
      el('button', {
        type: 'button', class: 'btn btn-small', 'data-testid': 'assign-button',
        'aria-label': 'Attribuer la conversation n° ' + id,
        dataset: { focusKey: 'assign-' + id },
        onclick: (ev) => assign(id, select.value, ev.currentTarget)
      }, 'Attribuer'));
  }

  /** Live waiting times: waiting_seconds was true when the queue was read. */
  function tick() {
    const elapsed = Math.max(0, Math.floor((Date.now() - state.queueAt) / 1000));
    document.querySelectorAll('.js-wait').forEach((node) => {
      if (node.dataset.base === '') return;
      const base = Number(node.dataset.base);
      if (!Number.isFinite(base)) return;
      const offset = node.dataset.at ? Math.floor((Date.now() - Number(node.dataset.at)) / 1000) : elapsed;
      node.textContent = formatDuration(base + offset);
    });
  }

  async function claim(id, button) {
    if (button) button.disabled = true;
    try {
      await api('POST', '/handoffs/' + enc(id) + '/claim');
      state.unread.delete(id);
      scheduleQueue();
      await openConversation(id, { focus: true });
    } catch (e) {
      report(e);
      scheduleQueue();
    } finally {
      if (button && button.isConnected) button.disabled = false;
    }
  }

  async function assign(id, referentId, button) {
    if (!referentId) {
      showBanner('Choisissez la personne à qui attribuer la conversation n° ' + id + '.', 'error');
      return;
    }
    if (button) button.disabled = true;
    try {
      await api('POST', '/handoffs/' + enc(id) + '/assign', { referent_id: referentId });
      state.assignChoice.delete(id);
      const who = state.colleagues.find((c) => idOf(c.id) === referentId);
      showBanner('Conversation n° ' + id + ' attribuée' + (who ? ' à ' + (who.display_name || who.email) : '') + '.', 'info');
    } catch (e) {
      report(e);
    } finally {
      if (button && button.isConnected) button.disabled = false;
      await loadQueue();
      if (state.currentId === id) openConversation(id, {});
    }
  }

  async function loadColleagues() {
    try {
      const list = await api('GET', '/referents');
      state.colleagues = (Array.isArray(list) ? list : []).filter((r) => r.active !== false);
      renderQueue();
    } catch (e) {
      if (e.status !== 401) state.colleagues = [];
    }
  }

  /* ---------- one conversation ---------- */

  function isHolder(h) {
    return !!(h && h.referent && state.me && idOf(h.referent.id) === idOf(state.me.id));
  }

  function canAct(h) {
    return !!h && h.status === 'assigned' && (isHolder(h) || isSupervisor());
  }

  function saveDraft() {
    if (!state.currentId) return;
    if (ui.reply.value) state.drafts.set(state.currentId, ui.reply.value);
    else state.drafts.delete(state.currentId);
  }

  async function openConversation(id, opts) {
    const options = opts || {};
    id = idOf(id);
    const seq = ++state.convSeq;
    try {
      const data = await api('GET', '/handoffs/' + enc(id));
      if (seq !== state.convSeq || !state.me) return;
      const switching = state.currentId !== id || !state.current;
      if (switching && state.currentId !== id) {
        saveDraft();
        ui.reply.value = state.drafts.get(id) || '';
        ui.note.value = '';
        ui.replyError.textContent = '';
        ui.noteError.textContent = '';
        ui.actionError.textContent = '';
        ui.transferSelect.replaceChildren();
        ui.closeOutcome.replaceChildren();
      }
      state.currentId = id;
      state.current = data;
      state.unread.delete(id);
      renderConversation(data, switching);
      renderQueue();
      if (options.focus) {
        if (state.tab !== 'queue') selectTab('queue', false);
        ui.convTitle.focus();
      }
    } catch (e) {
      if (seq !== state.convSeq || e.status === 401) return;
      if (e.status === 404 && state.currentId === id) {
        hideConversation();
        showBanner('La conversation n° ' + id + ' ne vous est plus accessible. ' + e.message, 'info');
      } else {
        report(e);
      }
    }
  }

  function hideConversation() {
    saveDraft();
    state.convSeq++;
    state.currentId = null;
    state.current = null;
    state.renderedMessages.clear();
    ui.transcript.replaceChildren();
    ui.notesList.replaceChildren();
    resetAppointments();
    ui.conversation.hidden = true;
    ui.noConversation.hidden = false;
    renderQueue();
  }

  function renderConversation(data, switching) {
    const h = data.handoff || {};
    const id = idOf(h.id);
    ui.conversation.hidden = false;
    ui.noConversation.hidden = true;
    ui.conversation.dataset.handoffId = id;
    ui.conversation.dataset.status = h.status || '';
    ui.convTitle.textContent = 'Conversation n° ' + id + ' — ' + reasonText(h);

    const meta = [el('li', {}, priorityBadge(h.priority))].concat(detailTags(h));
    ui.convMeta.replaceChildren(...meta);

    let stateText = label('status', h.status);
    if (h.status === 'assigned' && h.referent) {
      stateText += isHolder(h) ? ' par vous' : ' par ' + (h.referent.display_name || '?');
      if (h.claimed_at) stateText += ' à ' + formatTime(h.claimed_at);
    }
    ui.convState.replaceChildren(el('span', { class: 'state-' + (h.status || 'unknown'), text: stateText }));
    if (h.status === 'waiting') {
      const span = waitingSpan(h);
      span.dataset.at = String(Date.now());
      ui.convState.append(' — attend depuis ', span);
    }
    ui.convClaim.hidden = h.status !== 'waiting';

    ui.convHistory.textContent = h.share_history === true ? TEXT.history : TEXT.noHistory;
    ui.convHistory.classList.toggle('history-shared', h.share_history === true);

    // Self-assessment summary.
    const sa = data.self_assessment;
    if (sa && typeof sa === 'object' && Object.keys(sa).length) {
      const rows = [];
      Object.entries(sa).forEach(([k, v]) => {
        rows.push(el('dt', { text: humanKey(k) }), el('dd', { text: humanValue(v) }));
      });
      ui.assessmentList.replaceChildren(...rows);
      ui.assessment.hidden = false;
    } else {
      ui.assessmentList.replaceChildren();
      ui.assessment.hidden = true;
    }

    renderTranscript(data.messages || [], switching);
    renderQuickReplies(data.quick_replies || []);
    renderNotes(data.notes || []);

    const acting = canAct(h);
    ui.replyForm.hidden = !acting;
    ui.actions.hidden = !acting;
    ui.replyOff.hidden = acting;
    if (!acting) {
      let why = 'Vous ne pouvez pas répondre dans cette conversation.';
      if (h.status === 'waiting') why = 'Prenez la conversation pour pouvoir répondre.';
      else if (h.status === 'closed') why = 'Conversation close : vous ne pouvez plus répondre.';
      else if (h.status === 'assigned' && h.referent) why = 'Conversation tenue par ' + (h.referent.display_name || 'un·e collègue') + '.';
      ui.replyOff.textContent = why;
    }
    fillSelect(ui.transferSelect, 'Choisir un·e collègue…',
      (data.colleagues || []).filter((c) => !state.me || idOf(c.id) !== idOf(state.me.id))
        .map((c) => ({ value: idOf(c.id), text: c.display_name || '?' })));
    fillSelect(ui.closeOutcome, 'Choisir l’issue…',
      (data.outcomes || []).map((o) => ({ value: String(o.value), text: o.label || label('outcome', o.value) })));
    ui.transfer.disabled = ui.transferSelect.options.length <= 1;
    updateCounter();
    loadAppointments(id, switching);
  }

  /** Fill a select, keeping the current choice if it is still offered. */
  function fillSelect(select, placeholder, options) {
    const before = select.value;
    select.replaceChildren(el('option', { value: '', text: placeholder }),
      ...options.map((o) => el('option', { value: o.value, text: o.text })));
    if (options.some((o) => o.value === before)) select.value = before;
  }

  function nearBottom(node) {
    return node.scrollHeight - node.scrollTop - node.clientHeight < 80;
  }

  /** Another conversation: draw it all. The same one again: add only what is new (messages
   * never change once written), so the log is not read out again and the scroll stays. */
  function renderTranscript(messages, switching) {
    if (!switching) {
      messages.forEach((m) => appendMessage(m, true));
      return;
    }
    ui.transcript.setAttribute('aria-busy', 'true');
    state.renderedMessages.clear();
    ui.transcript.replaceChildren();
    messages.forEach((m) => appendMessage(m, false));
    if (!messages.length) {
      ui.transcript.append(el('p', { class: 'transcript-empty', text: 'Aucun message à afficher pour l’instant.' }));
    }
    ui.transcript.scrollTop = ui.transcript.scrollHeight;
    ui.transcript.setAttribute('aria-busy', 'false');
  }

  /** Say under one of our messages that it is not delivered (yet); nothing once it is. */
  function showDelivery(node, m) {
    const previous = node.querySelector('.msg-delivery');
    if (previous) previous.remove();
    const undelivered = node.dataset.sender !== 'user' ? LABELS.delivery[m.delivery] : undefined;
    node.classList.toggle('msg-undelivered', Boolean(undelivered));
    if (undelivered) {
      node.append(el('p', { class: 'msg-delivery', 'data-testid': 'message-delivery', 'data-delivery': m.delivery, text: undelivered }));
    }
  }

  /** One message of the transcript (text inserted with textContent). */
  function appendMessage(m, live) {
    if (!m) return;
    const key = m.id === undefined || m.id === null ? null : idOf(m.id);
    if (key !== null && state.renderedMessages.has(key)) {
      // Shown already: only its delivery may have changed (sent again after a failure).
      const shown = ui.transcript.querySelector('[data-message-id="' + CSS.escape(key) + '"]');
      if (shown) showDelivery(shown, m);
      return;
    }
    if (key !== null) state.renderedMessages.add(key);
    const stick = !live || nearBottom(ui.transcript);
    const empty = ui.transcript.querySelector('.transcript-empty');
    if (empty) empty.remove();
    const sender = LABELS.sender[m.sender] ? m.sender : (m.direction === 'inbound' ? 'user' : 'bot');
    const side = sender === 'user' ? 'them' : 'us';
    const node = el('div', {
      class: 'msg msg-' + sender + ' msg-' + side,
      'data-message-id': key,
      'data-sender': sender
    },
    el('p', { class: 'msg-meta' },
      el('span', { class: 'msg-author', text: label('sender', sender) }), ' ',
      el('time', { datetime: m.created_at || null, text: formatTime(m.created_at) })));
    const text = typeof m.text === 'string' ? m.text : '';
    node.append(text
      ? el('p', { class: 'msg-text', text })
      : el('p', { class: 'msg-text msg-empty', text: '(sans texte)' }));
    const buttons = Array.isArray(m.buttons) ? m.buttons.map((b) => b && b.title).filter(Boolean) : [];
    if (buttons.length) node.append(el('p', { class: 'msg-buttons', text: 'Boutons proposés : ' + buttons.join(' · ') }));
    showDelivery(node, m);
    ui.transcript.append(node);
    if (state.current && live && !(state.current.messages || []).includes(m)) {
      state.current.messages = (state.current.messages || []).concat([m]);
    }
    if (stick || (live && sender === 'referent')) ui.transcript.scrollTop = ui.transcript.scrollHeight;
  }

  function renderQuickReplies(list) {
    ui.quickReplies.replaceChildren(...list.filter((q) => q && q.text).map((q) => el('button', {
      type: 'button', class: 'btn btn-small btn-chip', 'data-testid': 'quick-reply',
      title: q.text,
      onclick: () => useQuickReply(q.text)
    }, q.title || q.text)));
    ui.quickReplies.hidden = !ui.quickReplies.childElementCount;
  }

  /** Put a quick reply in the box; what was already typed is kept (the reply is added after it). */
  function useQuickReply(text) {
    const current = ui.reply.value;
    ui.reply.value = current.trim() ? current.replace(/\s+$/, '') + '\n' + text : text;
    ui.reply.value = ui.reply.value.slice(0, REPLY_MAX);
    saveDraft();
    updateCounter();
    ui.reply.focus();
    ui.reply.setSelectionRange(ui.reply.value.length, ui.reply.value.length);
  }

  function renderNotes(notes) {
    if (!notes.length) {
      ui.notesList.replaceChildren(el('li', { class: 'note-empty', text: 'Aucune note.' }));
      return;
    }
    ui.notesList.replaceChildren(...notes.map(renderNote));
  }

  function renderNote(n) {
    return el('li', { class: 'note', 'data-note-id': n.id === undefined ? null : idOf(n.id) },
      el('p', { class: 'note-meta' },
        el('span', { class: 'note-author', text: n.author || '?' }), ' ',
        el('time', { datetime: n.created_at || null, text: formatTime(n.created_at) })),
      el('p', { class: 'note-text', text: n.text || '' }));
  }

  function updateCounter() {
    const n = ui.reply.value.length;
    ui.replyCounter.textContent = n >= COUNTER_FROM ? n + ' / ' + REPLY_MAX : '';
    ui.replyCounter.classList.toggle('counter-full', n >= REPLY_MAX);
  }

  async function onReplySubmit(ev) {
    ev.preventDefault();
    if (state.sending || !state.currentId) return;
    const id = state.currentId;
    const text = ui.reply.value.trim();
    ui.replyError.textContent = '';
    if (!text) {
      ui.replyError.textContent = 'Écrivez un message avant d’envoyer.';
      ui.reply.focus();
      return;
    }
    if (text.length > REPLY_MAX) {
      ui.replyError.textContent = 'Le message dépasse ' + REPLY_MAX + ' caractères : raccourcissez-le.';
      return;
    }
    state.sending = true;
    ui.replySend.disabled = true;
    ui.replyForm.setAttribute('aria-busy', 'true');
    try {
      const message = await api('POST', '/handoffs/' + enc(id) + '/messages', { text });
      if (state.currentId === id) {
        if (ui.reply.value.trim() === text) ui.reply.value = '';
        appendMessage(message, true);
        saveDraft();
        updateCounter();
      } else if ((state.drafts.get(id) || '').trim() === text) {
        state.drafts.delete(id);
      }
    } catch (e) {
      // The text stays in the box (or in the drafts if the login form is shown).
      saveDraft();
      if (e.status !== 401 && state.currentId === id) {
        ui.replyError.textContent = 'Message non envoyé : ' + e.message + ' Votre texte est conservé.';
      }
    } finally {
      state.sending = false;
      ui.replySend.disabled = false;
      ui.replyForm.setAttribute('aria-busy', 'false');
    }
  }

  function onReplyKey(ev) {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey) && !ev.isComposing) {
      ev.preventDefault();
      ui.replyForm.requestSubmit();
    }
  }

  async function onNoteSubmit(ev) {
    ev.preventDefault();
    if (!state.currentId) return;
    const id = state.currentId;
    const text = ui.note.value.trim();
    ui.noteError.textContent = '';
    if (!text) {
      ui.noteError.textContent = 'Écrivez la note avant de l’ajouter.';
      ui.note.focus();
      return;
    }
    if (text.length > NOTE_MAX) {
      ui.noteError.textContent = 'La note dépasse ' + NOTE_MAX + ' caractères.';
      return;
    }
    ui.noteAdd.disabled = true;
    try {
      const note = await api('POST', '/handoffs/' + enc(id) + '/notes', { text });
      if (state.currentId === id) {
        if (ui.note.value.trim() === text) ui.note.value = '';
        const empty = ui.notesList.querySelector('.note-empty');
        if (empty) empty.remove();
        if (note) ui.notesList.append(renderNote(note));
        if (state.current) state.current.notes = (state.current.notes || []).concat(note ? [note] : []);
      }
    } catch (e) {
      if (state.currentId === id) report(e, ui.noteError);
    } finally {
      ui.noteAdd.disabled = false;
    }
  }

  /** Ask with a modal dialog (Escape or "Annuler" say no). */
  function confirmAction(text, okLabel) {
    return new Promise((resolve) => {
      const dialog = ui.confirm;
      if (typeof dialog.showModal !== 'function') {
        resolve(window.confirm(text));
        return;
      }
      const previous = document.activeElement;
      ui.confirmText.textContent = text;
      ui.confirmOk.textContent = okLabel || 'Confirmer';
      dialog.returnValue = '';
      dialog.addEventListener('close', () => {
        resolve(dialog.returnValue === 'ok');
        if (previous && previous.isConnected) previous.focus();
      }, { once: true });
      dialog.showModal();
      ui.confirmCancel.focus();
    });
  }

  /** Release, transfer, return to the bot, close; then reload the queue and the conversation. */
  async function act(kind) {
    if (state.acting || !state.currentId || !state.current) return;
    const id = state.currentId;
    ui.actionError.textContent = '';
    let path = '';
    let body;
    let done = '';
    if (kind === 'release') {
      path = 'release';
      done = 'Conversation n° ' + id + ' remise dans la file, à sa place.';
    } else if (kind === 'transfer') {
      const to = ui.transferSelect.value;
      if (!to) {
        ui.actionError.textContent = 'Choisissez le ou la collègue à qui transférer.';
        ui.transferSelect.focus();
        return;
      }
      const name = ui.transferSelect.selectedOptions[0] ? ui.transferSelect.selectedOptions[0].textContent : '';
      path = 'transfer';
      body = { referent_id: to };
      done = 'Conversation n° ' + id + ' transférée à ' + name + '.';
    } else if (kind === 'return') {
      const ok = await confirmAction('Rendre la main à l’assistant ? La conversation n° ' + id +
        ' sera close et l’assistant répondra de nouveau à la personne.', 'Rendre la main');
      if (!ok) return;
      path = 'return-to-bot';
      done = 'La main est rendue à l’assistant pour la conversation n° ' + id + '.';
    } else if (kind === 'close') {
      const outcome = ui.closeOutcome.value;
      if (!outcome) {
        ui.actionError.textContent = 'Choisissez l’issue de la conversation avant de la clore.';
        ui.closeOutcome.setAttribute('aria-invalid', 'true');
        ui.closeOutcome.focus();
        return;
      }
      ui.closeOutcome.removeAttribute('aria-invalid');
      const outcomeLabel = ui.closeOutcome.selectedOptions[0] ? ui.closeOutcome.selectedOptions[0].textContent : outcome;
      const ok = await confirmAction('Clore la conversation n° ' + id + ' avec l’issue « ' + outcomeLabel + ' » ?', 'Clore');
      if (!ok) return;
      path = 'close';
      body = { outcome };
      done = 'Conversation n° ' + id + ' close (' + outcomeLabel + ').';
    } else {
      return;
    }
    state.acting = true;
    setActionsDisabled(true);
    try {
      await api('POST', '/handoffs/' + enc(id) + '/' + path, body);
      showBanner(done, 'info');
      if (kind === 'transfer') ui.transferSelect.value = '';
      if (kind === 'close') ui.closeOutcome.value = '';
    } catch (e) {
      report(e, ui.actionError);
    } finally {
      state.acting = false;
      setActionsDisabled(false);
      await loadQueue();
      if (state.currentId === id) await openConversation(id, {});
    }
  }

  function setActionsDisabled(on) {
    [ui.release, ui.transfer, ui.returnBot, ui.close].forEach((b) => { b.disabled = on; });
    if (!on) ui.transfer.disabled = ui.transferSelect.options.length <= 1;
  }

  /* ---------- supervision ---------- */

  async function loadStats() {
    if (!isSupervisor()) return;
    const days = ['7', '30', '90'].includes(ui.statsDays.value) ? ui.statsDays.value : '30';
    ui.statsCsv.href = API + '/stats.csv?days=' + enc(days);
    ui.statsError.textContent = '';
    ui.statsBody.setAttribute('aria-busy', 'true');
    try {
      const stats = await api('GET', '/stats?days=' + enc(days));
      if (ui.statsDays.value === days) renderStats(stats || {});
    } catch (e) {
      report(e, ui.statsError);
    } finally {
      ui.statsBody.setAttribute('aria-busy', 'false');
    }
  }

  /** A two-column table of counts, with labels when known. */
  function countTable(caption, counts, group, labeler) {
    const entries = Object.entries(counts || {});
    if (!entries.length) {
      return el('div', { class: 'stat-table' }, el('p', { class: 'stat-caption', text: caption }), el('p', { class: 'hint', text: 'Aucune donnée.' }));
    }
    entries.sort((a, b) => Number(b[1]) - Number(a[1]));
    return el('table', { class: 'table table-compact' },
      el('caption', { text: caption }),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Catégorie' }), el('th', { scope: 'col', class: 'num', text: 'Nombre' }))),
      el('tbody', {}, entries.map(([k, v]) => el('tr', {},
        el('th', { scope: 'row', text: labeler ? labeler(k) : label(group, k) }),
        el('td', { class: 'num', text: String(v) })))));
  }

  function timeCard(title, t) {
    const data = t || {};
    return el('section', { class: 'card' },
      el('h3', { text: title }),
      el('dl', { class: 'figures' },
        el('div', {}, el('dt', { text: 'Médiane' }), el('dd', { text: formatDuration(data.median_seconds) })),
        el('div', {}, el('dt', { text: '90 % en moins de' }), el('dd', { text: formatDuration(data.p90_seconds) })),
        el('div', {}, el('dt', { text: 'Sur' }), el('dd', { text: (data.count || 0) + ' demande' + ((data.count || 0) > 1 ? 's' : '') }))));
  }

  function renderStats(s) {
    const since = formatDate(s.since);
    const until = formatDate(s.until);
    ui.statsPeriod.textContent = since && until ? 'Du ' + since + ' au ' + until + '.' : '';
    const v = s.volumes || {};
    const unanswered = Array.isArray(s.unanswered) ? s.unanswered : [];
    const cards = [
      el('section', { class: 'card' },
        el('h3', { text: 'Volume' }),
        el('p', { class: 'big', 'data-testid': 'stats-total' }, String(v.total || 0), el('span', { class: 'big-unit', text: ' demande' + ((v.total || 0) > 1 ? 's' : '') })),
        countTable('Par priorité', v.by_priority, 'priority'),
        countTable('Par état', v.by_status, 'status')),
      el('section', { class: 'card' },
        el('h3', { text: 'Motifs' }),
        countTable('Par motif', v.by_reason, null, (k) => state.reasonLabels[k] || k)),
      timeCard('Temps d’attente', s.waiting),
      timeCard('Temps de prise en charge', s.handling),
      el('section', { class: 'card' },
        el('h3', { text: 'Issues' }),
        countTable('Issues des conversations', s.outcomes, 'outcome')),
      el('section', { class: 'card' },
        el('h3', { text: 'Escalades' }),
        el('p', { class: 'big' }, String(s.escalated || 0), el('span', { class: 'big-unit', text: ' demande' + ((s.escalated || 0) > 1 ? 's' : '') + ' restée' + ((s.escalated || 0) > 1 ? 's' : '') + ' trop longtemps en attente' }))),
      el('section', { class: 'card card-wide' },
        el('h3', { text: 'Questions auxquelles l’assistant n’a pas su répondre' }),
        unanswered.length
          ? el('ol', { class: 'unanswered' }, unanswered.map((u) => el('li', {},
            el('span', { class: 'q-text', text: u.text || '' }),
            el('span', { class: 'q-count', text: ' (' + (u.count || 0) + ' fois)' }))))
          : el('p', { class: 'hint', text: 'Aucune sur la période.' }))
    ];
    ui.statsBody.replaceChildren(...cards);
  }

  /* ---------- accounts ---------- */

  async function loadAccounts() {
    if (!isSupervisor()) return;
    ui.accountsError.textContent = '';
    try {
      const [list, territories] = await Promise.all([
        api('GET', '/referents'),
        state.territories ? Promise.resolve(state.territories) : api('GET', '/territories')
      ]);
      if (!state.territories) {
        state.territories = Array.isArray(territories) ? territories : [];
        renderTerritoryChecks();
      }
      const rows = Array.isArray(list) ? list : [];
      state.colleagues = rows.filter((r) => r.active !== false);
      renderAccounts(rows);
    } catch (e) {
      report(e, ui.accountsError);
    }
  }

  function territoryName(id) {
    const t = (state.territories || []).find((x) => idOf(x.id) === idOf(id));
    return t ? t.name || idOf(id) : idOf(id);
  }

  function renderTerritoryChecks() {
    const list = state.territories || [];
    if (!list.length) {
      ui.accTerritories.replaceChildren(el('p', { class: 'hint', text: 'Aucun territoire dans l’annuaire des partenaires.' }));
      return;
    }
    ui.accTerritories.replaceChildren(...list.map((t, i) => el('div', { class: 'check' },
      el('input', { type: 'checkbox', id: 'acc-territory-' + i, name: 'territory', value: idOf(t.id) }),
      el('label', { for: 'acc-territory-' + i, text: t.name || idOf(t.id) }))));
  }

  function renderAccounts(rows) {
    ui.accountsBody.replaceChildren(...rows.map((r) => {
      const self = state.me && idOf(r.id) === idOf(state.me.id);
      const name = r.display_name || r.email || '?';
      const territories = Array.isArray(r.territories) && r.territories.length
        ? r.territories.map(territoryName).join(', ') : 'Aucun';
      const action = self
        ? el('span', { class: 'hint', text: 'Vous' })
        : el('button', {
          type: 'button', class: 'btn btn-small' + (r.active ? ' btn-danger-quiet' : ''),
          'data-testid': r.active ? 'deactivate-button' : 'activate-button',
          'aria-label': (r.active ? 'Désactiver le compte de ' : 'Réactiver le compte de ') + name,
          onclick: (ev) => setActive(r, !r.active, ev.currentTarget)
        }, r.active ? 'Désactiver' : 'Réactiver');
      return el('tr', { 'data-referent-id': idOf(r.id), class: r.active ? '' : 'row-inactive' },
        el('th', { scope: 'row', text: name }),
        el('td', { text: r.email || '' }),
        el('td', { text: label('role', r.role) }),
        el('td', { text: territories }),
        el('td', { text: r.serves_under_16 ? 'Oui' : 'Non' }),
        el('td', { text: (r.active_count || 0) + ' / ' + (r.capacity || 0) }),
        el('td', { text: r.active ? 'Actif' : 'Désactivé' }),
        el('td', {}, action));
    }));
  }

  async function setActive(r, active, button) {
    button.disabled = true;
    ui.accountsError.textContent = '';
    const name = r.display_name || r.email || '';
    try {
      await api('PATCH', '/referents/' + enc(idOf(r.id)), { active });
      ui.accountsStatus.textContent = 'Compte de ' + name + (active ? ' réactivé.' : ' désactivé.');
    } catch (e) {
      report(e, ui.accountsError);
    } finally {
      if (button.isConnected) button.disabled = false;
      await loadAccounts();
      renderQueue();
    }
  }

  function fieldError(input, text) {
    ui.accountError.textContent = text;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }

  async function onAccountSubmit(ev) {
    ev.preventDefault();
    ui.accountError.textContent = '';
    ui.accountsStatus.textContent = '';
    [ui.accEmail, ui.accName, ui.accPassword, ui.accCapacity].forEach((i) => i.removeAttribute('aria-invalid'));
    const email = ui.accEmail.value.trim();
    const displayName = ui.accName.value.trim();
    const password = ui.accPassword.value;
    const capacity = Number(ui.accCapacity.value);
    if (!email || !ui.accEmail.checkValidity()) return fieldError(ui.accEmail, 'Indiquez une adresse e-mail valide.');
    if (!displayName) return fieldError(ui.accName, 'Indiquez le nom affiché.');
    if (password.length < PASSWORD_MIN) {
      return fieldError(ui.accPassword, 'Le mot de passe doit compter au moins ' + PASSWORD_MIN + ' caractères.');
    }
    if (!Number.isInteger(capacity) || capacity < 1) return fieldError(ui.accCapacity, 'La capacité doit être un nombre entier positif.');
    const territories = Array.from(ui.accTerritories.querySelectorAll('input[name="territory"]:checked')).map((c) => c.value);
    const body = {
      email, display_name: displayName, password, role: ui.accRole.value, territories,
      serves_under_16: ui.accUnder16.checked, capacity
    };
    ui.accountSubmit.disabled = true;
    try {
      await api('POST', '/referents', body);
      ui.accountForm.reset();
      ui.accCapacity.value = '50';
      ui.accountsStatus.textContent = 'Compte créé pour ' + displayName + '.';
      await loadAccounts();
      renderQueue();
    } catch (e) {
      report(e, ui.accountError);
      if (e.status === 409) ui.accEmail.setAttribute('aria-invalid', 'true');
      if (e.status === 422) ui.accPassword.setAttribute('aria-invalid', 'true');
    } finally {
      ui.accountSubmit.disabled = false;
    }
  }

  /* ---------- access log (supervisors) ---------- */

  /** The form's filters as a query string ("" when none). */
  function auditQuery() {
    const params = new URLSearchParams();
    if (ui.auditReferent.value) params.set('referent', ui.auditReferent.value);
    const handoff = ui.auditHandoff.value.trim();
    if (/^[1-9][0-9]{0,17}$/.test(handoff)) params.set('handoff', handoff);
    if (ui.auditSince.value) params.set('since', ui.auditSince.value);
    if (ui.auditUntil.value) params.set('until', ui.auditUntil.value);
    return params.toString();
  }

  /** Nothing of a previous session stays in the log's section. */
  function resetAudit() {
    state.audit.seq += 1;
    state.audit.next = null;
    state.audit.query = '';
    ui.auditForm.reset();
    ui.auditReferent.replaceChildren(el('option', { value: '', text: 'Tous' }));
    ui.auditCsv.href = API + '/audit.csv';
    ui.auditStatus.textContent = '';
    ui.auditError.textContent = '';
    ui.auditEmpty.hidden = true;
    ui.auditMore.hidden = true;
  }

  /** Every account, deactivated ones too: their past actions stay in the log. */
  async function loadAuditReferents() {
    try {
      const list = await api('GET', '/referents');
      const rows = Array.isArray(list) ? list : [];
      const chosen = ui.auditReferent.value;
      ui.auditReferent.replaceChildren(el('option', { value: '', text: 'Tous' }),
        ...rows.map((r) => el('option', {
          value: idOf(r.id),
          text: (r.display_name || r.email || '?') + (r.active === false ? ' (désactivé)' : '')
        })));
      ui.auditReferent.value = rows.some((r) => idOf(r.id) === chosen) ? chosen : '';
    } catch (e) {
      report(e, ui.auditError);
    }
  }

  /** Read the log with the form's filters; more: append the next, older page. */
  async function loadAudit(more) {
    if (!isSupervisor()) return;
    if (!more) {
      state.audit.query = auditQuery();
      state.audit.next = null;
      ui.auditCsv.href = API + '/audit.csv' + (state.audit.query ? '?' + state.audit.query : '');
    }
    const params = new URLSearchParams(state.audit.query);
    params.set('limit', String(AUDIT_PAGE));
    if (more && state.audit.next) params.set('before', String(state.audit.next));
    const seq = ++state.audit.seq;
    ui.auditError.textContent = '';
    ui.auditBody.setAttribute('aria-busy', 'true');
    ui.auditMore.disabled = true;
    try {
      const data = await api('GET', '/audit?' + params.toString());
      if (seq !== state.audit.seq) return;
      const events = data && Array.isArray(data.events) ? data.events : [];
      const rows = events.map(auditRow);
      if (more) ui.auditBody.append(...rows);
      else ui.auditBody.replaceChildren(...rows);
      state.audit.next = data && data.next_before ? data.next_before : null;
      const shown = ui.auditBody.children.length;
      ui.auditEmpty.hidden = shown > 0;
      ui.auditMore.hidden = !state.audit.next;
      ui.auditStatus.textContent = shown
        ? shown + ' action' + (shown > 1 ? 's' : '') + ' affichée' + (shown > 1 ? 's' : '') + (state.audit.next ? ' (il y en a d’autres, plus anciennes).' : '.')
        : '';
    } catch (e) {
      if (seq === state.audit.seq) report(e, ui.auditError);
    } finally {
      if (seq === state.audit.seq) {
        ui.auditBody.setAttribute('aria-busy', 'false');
        ui.auditMore.disabled = false;
      }
    }
  }

  function formatMoment(iso) {
    const d = parseDate(iso);
    return d ? d.toLocaleString('fr-FR', {
      day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit'
    }) : '';
  }

  /** One row of the log: every value as text. */
  function auditRow(e) {
    let action = e.action || e.kind || '';
    if (e.to && e.to.display_name) action += ' à ' + e.to.display_name;
    if (e.kind === 'closed' && e.outcome && e.outcome !== 'returned_to_bot') action += ' (' + label('outcome', e.outcome) + ')';
    return el('tr', { 'data-testid': 'audit-row', dataset: { eventId: idOf(e.id), kind: String(e.kind || ''), handoffId: idOf(e.handoff_id) } },
      el('td', {}, el('time', { datetime: e.at || '', text: formatMoment(e.at) })),
      el('th', { scope: 'row', text: (e.referent && e.referent.display_name) || '—' }),
      el('td', { text: action }),
      el('td', { text: 'n° ' + idOf(e.handoff_id) }),
      el('td', { text: e.territory_name || e.territory || 'Non précisé' }));
  }

  /* ---------- appointments (API.md, "Appointments") ---------- */

  const APPT = {
    status: { proposed: 'Proposé', confirmed: 'Confirmé', cancelled: 'Annulé', done: 'Fait', missed: 'Manqué' },
    mode: { in_person: 'Sur place', phone: 'Par téléphone', video: 'En visio' },
    placeLabel: {
      in_person: 'Lieu (adresse)', phone: 'Numéro à appeler (facultatif)', video: 'Lien de la visio (facultatif)'
    },
    placeKey: { in_person: 'Lieu :', phone: 'Numéro :', video: 'Lien :' },
    // What the person did with their buttons (console events), in one short line.
    kinds: {
      reschedule_requested: 'La personne demande un autre moment : proposez d’autres horaires.',
      declined: 'La personne demande un autre moment : proposez d’autres horaires.',
      cancelled_by_user: 'La personne a annulé le rendez-vous.',
      option_picked: 'La personne a choisi l’un des horaires proposés.',
      confirmed: 'La personne a confirmé le rendez-vous (« C’est noté »).',
      attended: 'La personne dit que le rendez-vous a eu lieu.',
      missed: 'La personne dit que le rendez-vous n’a pas eu lieu : proposez un autre moment.'
    },
    // Worth telling even when another conversation is shown.
    elsewhere: ['reschedule_requested', 'declined', 'cancelled_by_user', 'missed'],
    done: {
      create: 'Rendez-vous proposé à la personne.',
      move: 'Nouvelle heure envoyée à la personne.',
      options: 'Horaires envoyés : la personne choisit avec les boutons.',
      cancel: 'Rendez-vous annulé ; la personne est prévenue.',
      done: 'Rendez-vous marqué comme fait.',
      missed: 'Rendez-vous marqué comme manqué ; un autre moment est proposé à la personne.'
    },
    notSent: 'Enregistré, mais rien n’a été envoyé. ',
    toMove: 'À reprogrammer : la personne a demandé un autre moment.',
    when: 'Indiquez la date et l’heure.'
  };

  const apptUi = {
    block: $('appointments'), alert: $('appt-alert'), stopped: $('appt-stopped'), status: $('appt-status'),
    error: $('appt-error'), list: $('appt-list'), empty: $('appt-empty'), form: $('appt-form'),
    date: $('appt-date'), time: $('appt-time'), duration: $('appt-duration'), place: $('appt-place'),
    placeLabel: $('appt-place-label'), bring: $('appt-bring'), formError: $('appt-form-error'),
    submit: $('appt-submit')
  };

  const appt = {
    handoffId: null,   // the conversation whose appointments are shown (string)
    data: null,        // its GET /handoffs/{id}/appointments answer
    seq: 0,
    timer: 0,
    busy: false,
    editor: null       // { id, kind: 'move' | 'options', values: [..] } being filled
  };

  /** "45 min", "1 h", "1 h 30". */
  function formatMinutes(minutes) {
    const m = Number(minutes) || 0;
    if (m < 60) return m + ' min';
    const rest = m % 60;
    return Math.floor(m / 60) + ' h' + (rest ? ' ' + String(rest).padStart(2, '0') : '');
  }

  /** "2024-12-03T14:30" from a date and a time field ('' when one is missing). */
  function localMoment(date, time) {
    return date && time ? date + 'T' + time : '';
  }

  function resetAppointments() {
    appt.seq++;
    clearTimeout(appt.timer);
    appt.handoffId = null;
    appt.data = null;
    appt.editor = null;
    apptUi.list.replaceChildren();
    apptUi.empty.hidden = true;
    apptUi.form.hidden = true;
    apptUi.stopped.hidden = true;
    apptUi.alert.hidden = true;
    apptUi.alert.textContent = '';
    setApptStatus('');
    apptUi.error.textContent = '';
    apptUi.formError.textContent = '';
  }

  function setApptStatus(text, warn) {
    apptUi.status.textContent = text || '';
    apptUi.status.classList.toggle('appt-warn', !!warn);
  }

  function showApptAlert(text, ask) {
    apptUi.alert.textContent = text;
    apptUi.alert.classList.toggle('appt-alert-ask', !!ask);
    apptUi.alert.hidden = !text;
  }

  function scheduleAppointments() {
    clearTimeout(appt.timer);
    if (!appt.handoffId) return;
    const id = appt.handoffId;
    appt.timer = setTimeout(() => loadAppointments(id, false), 200);
  }

  /** Read the conversation's appointments (called each time the conversation is drawn). */
  async function loadAppointments(id, switching) {
    id = idOf(id);
    if (switching || appt.handoffId !== id) {
      resetAppointments();
      apptUi.form.reset();
      updatePlaceLabel();
    }
    appt.handoffId = id;
    const seq = ++appt.seq;
    apptUi.block.setAttribute('aria-busy', 'true');
    try {
      const data = await api('GET', '/handoffs/' + enc(id) + '/appointments');
      if (seq !== appt.seq || appt.handoffId !== id || !state.me) return;
      appt.data = data || { appointments: [] };
      apptUi.error.textContent = '';
      renderAppointments();
    } catch (e) {
      if (seq !== appt.seq || e.status === 401) return;
      report(e, apptUi.error);
    } finally {
      if (seq === appt.seq) apptUi.block.setAttribute('aria-busy', 'false');
    }
  }

  function renderAppointments() {
    const data = appt.data || { appointments: [] };
    const list = Array.isArray(data.appointments) ? data.appointments : [];
    const active = document.activeElement;
    const focusKey = active && active.dataset ? active.dataset.apptKey : null;
    if (appt.editor && !list.some((a) => a.id === appt.editor.id && canChangeAppt(a, appt.editor.kind))) {
      appt.editor = null;
    }
    apptUi.list.replaceChildren(...list.map(renderAppointment));
    apptUi.empty.hidden = list.length > 0;
    apptUi.stopped.hidden = !data.stopped_messages;
    apptUi.form.hidden = !data.may_create;
    if (focusKey) {
      const again = apptUi.block.querySelector('[data-appt-key="' + CSS.escape(focusKey) + '"]');
      if (again) again.focus();
    }
  }

  function isLiveAppt(a) {
    return a.status === 'proposed' || a.status === 'confirmed';
  }

  function startedAppt(a) {
    const d = parseDate(a.starts_at);
    return !!d && d.getTime() <= Date.now();
  }

  /** Whether this action is offered for this appointment (the server decides in the end). */
  function canChangeAppt(a, kind) {
    if (!appt.data || !appt.data.may_change) return false;
    if (kind === 'options') return isLiveAppt(a) || a.status === 'missed';
    if (kind === 'done' || kind === 'missed') return isLiveAppt(a) && startedAppt(a);
    return isLiveAppt(a);
  }

  function renderAppointment(a) {
    const status = APPT.status[a.status] ? a.status : 'proposed';
    const mode = APPT.mode[a.mode] ? a.mode : 'in_person';
    const options = Array.isArray(a.options) ? a.options : [];
    const li = el('li', {
      class: 'appt appt-' + status + (a.past ? ' appt-past' : ''),
      'data-appointment-id': a.id, 'data-status': status, 'data-testid': 'appointment'
    },
    el('p', { class: 'appt-head' },
      el('span', { class: 'appt-when', 'data-testid': 'appointment-when', text: a.starts_label || formatTime(a.starts_at) }),
      ' ',
      el('span', { class: 'badge appt-badge appt-badge-' + status, 'data-testid': 'appointment-status', text: APPT.status[status] })),
    el('p', { class: 'appt-meta', text: formatMinutes(a.duration_minutes) + ' · ' + APPT.mode[mode] }),
    a.place ? el('p', { class: 'appt-detail' }, el('span', { class: 'appt-key', text: APPT.placeKey[mode] }), ' ', a.place) : null,
    a.bring ? el('p', { class: 'appt-detail' }, el('span', { class: 'appt-key', text: 'À apporter :' }), ' ', a.bring) : null,
    a.referent ? el('p', { class: 'hint', text: 'Fixé par ' + a.referent }) : null,
    a.reschedule_wanted && (isLiveAppt(a) || status === 'missed')
      ? el('p', { class: 'appt-ask', 'data-testid': 'appointment-ask', text: APPT.toMove }) : null,
    options.length ? el('div', { class: 'appt-options', 'data-testid': 'appointment-options' },
      el('p', { class: 'hint', text: 'Horaires proposés, en attente du choix de la personne :' }),
      el('ul', {}, ...options.map((o) => el('li', { text: o.starts_label || formatTime(o.starts_at) })))) : null);

    const buttons = [
      ['move', 'Déplacer', 'btn'], ['options', 'Proposer d’autres horaires', 'btn'],
      ['done', 'Fait', 'btn'], ['missed', 'Manqué', 'btn'], ['cancel', 'Annuler le rendez-vous', 'btn btn-danger-quiet']
    ].filter(([kind]) => canChangeAppt(a, kind)).map(([kind, text, cls]) => el('button', {
      type: 'button', class: cls + ' btn-small', 'data-testid': 'appointment-' + kind,
      'data-appt-key': a.id + ':' + kind, disabled: appt.busy,
      onclick: () => onApptButton(a, kind)
    }, text));
    if (buttons.length) li.append(el('div', { class: 'appt-actions' }, ...buttons));
    if (appt.editor && appt.editor.id === a.id) li.append(renderApptEditor(a));
    return li;
  }

  /** The small form to move an appointment or to propose other times. */
  function renderApptEditor(a) {
    const editor = appt.editor;
    const rows = editor.kind === 'move' ? 1 : 3;
    const form = el('form', { class: 'appt-editor', novalidate: true, 'data-testid': 'appointment-editor' });
    form.append(el('p', { class: 'appt-editor-title', text: editor.kind === 'move'
      ? 'Nouvelle date et heure' : 'Deux ou trois autres horaires (la personne en choisit un)' }));
    for (let i = 0; i < rows; i++) {
      const value = editor.values[i] || { date: '', time: '' };
      const n = rows > 1 ? ' ' + (i + 1) + (i === 2 ? ' (facultatif)' : '') : '';
      const dateId = 'appt-ed-date-' + i;
      const timeId = 'appt-ed-time-' + i;
      form.append(el('div', { class: 'appt-fields' },
        el('div', { class: 'field' },
          el('label', { for: dateId, text: 'Date' + n }),
          el('input', { id: dateId, type: 'date', value: value.date, 'data-appt-key': a.id + ':date' + i,
            'data-testid': 'appointment-editor-date', oninput: (ev) => { value.date = ev.target.value; } })),
        el('div', { class: 'field' },
          el('label', { for: timeId, text: 'Heure' + n }),
          el('input', { id: timeId, type: 'time', step: '300', value: value.time, 'data-appt-key': a.id + ':time' + i,
            'data-testid': 'appointment-editor-time', oninput: (ev) => { value.time = ev.target.value; } }))));
      editor.values[i] = value;
    }
    const error = el('p', { class: 'form-error', role: 'alert', 'data-testid': 'appointment-editor-error', text: editor.error || '' });
    form.append(error, el('div', { class: 'appt-actions' },
      el('button', { type: 'submit', class: 'btn btn-primary btn-small', disabled: appt.busy,
        'data-testid': 'appointment-editor-submit', 'data-appt-key': a.id + ':send' },
      editor.kind === 'move' ? 'Envoyer la nouvelle heure' : 'Envoyer ces horaires'),
      el('button', { type: 'button', class: 'btn btn-quiet btn-small', 'data-appt-key': a.id + ':close',
        onclick: () => { appt.editor = null; renderAppointments(); } }, 'Fermer')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const times = editor.values.map((v) => localMoment(v.date, v.time)).filter(Boolean);
      const partial = editor.values.some((v) => !!v.date !== !!v.time);
      if (partial || times.length < (editor.kind === 'move' ? 1 : 2)) {
        editor.error = editor.kind === 'move' ? APPT.when : 'Indiquez au moins deux horaires (date et heure).';
        error.textContent = editor.error;
        return;
      }
      editor.error = '';
      const body = editor.kind === 'move' ? { starts_at: times[0] } : { starts_at: times };
      apptAct(a, editor.kind, body, error);
    });
    return form;
  }

  async function onApptButton(a, kind) {
    if (appt.busy) return;
    setApptStatus('');
    apptUi.error.textContent = '';
    if (kind === 'move' || kind === 'options') {
      const current = a.starts_at ? { date: a.starts_at.slice(0, 10), time: a.starts_at.slice(11, 16) } : null;
      appt.editor = { id: a.id, kind, values: kind === 'move' && current ? [current] : [], error: '' };
      renderAppointments();
      const first = apptUi.list.querySelector('[data-appt-key="' + CSS.escape(a.id + ':date0') + '"]');
      if (first) first.focus();
      return;
    }
    const when = a.starts_label || '';
    if (kind === 'cancel') {
      const ok = await confirmAction('Annuler le rendez-vous du ' + when + ' ? La personne sera prévenue.', 'Annuler le rendez-vous');
      if (!ok) return;
    } else if (kind === 'missed') {
      const ok = await confirmAction('Marquer le rendez-vous du ' + when + ' comme manqué ? La personne recevra un message lui proposant un autre moment.', 'Marquer manqué');
      if (!ok) return;
    }
    apptAct(a, kind, undefined, apptUi.error);
  }

  /** One change to an appointment; then the list is read again. */
  async function apptAct(a, kind, body, errorNode) {
    if (appt.busy || !appt.handoffId) return;
    const id = appt.handoffId;
    appt.busy = true;
    apptUi.block.querySelectorAll('.appt button').forEach((b) => { b.disabled = true; });
    try {
      const res = await api('POST', '/appointments/' + enc(a.id) + '/' + kind, body);
      if (appt.handoffId !== id) return;
      appt.editor = null;
      apptDone(kind, res);
    } catch (e) {
      if (appt.handoffId === id) {
        if (appt.editor) appt.editor.error = e.message;
        report(e, errorNode);
      }
    } finally {
      appt.busy = false;
      if (appt.handoffId === id) await loadAppointments(id, false);
    }
  }

  function apptDone(kind, res) {
    showApptAlert('');
    if (res && res.why) setApptStatus(APPT.notSent + res.why, true);
    else setApptStatus(APPT.done[kind] || '');
  }

  function updatePlaceLabel() {
    const checked = apptUi.form.querySelector('input[name="appt-mode"]:checked');
    apptUi.placeLabel.textContent = APPT.placeLabel[checked ? checked.value : 'in_person'];
  }

  async function onApptSubmit(ev) {
    ev.preventDefault();
    if (appt.busy || !appt.handoffId) return;
    const id = appt.handoffId;
    apptUi.formError.textContent = '';
    setApptStatus('');
    const startsAt = localMoment(apptUi.date.value, apptUi.time.value);
    if (!startsAt) {
      apptUi.formError.textContent = APPT.when;
      (apptUi.date.value ? apptUi.time : apptUi.date).focus();
      return;
    }
    const checked = apptUi.form.querySelector('input[name="appt-mode"]:checked');
    const body = {
      starts_at: startsAt,
      duration_minutes: Number(apptUi.duration.value) || 30,
      mode: checked ? checked.value : 'in_person',
      place: apptUi.place.value.trim() || null,
      bring: apptUi.bring.value.trim() || null
    };
    appt.busy = true;
    apptUi.submit.disabled = true;
    apptUi.form.setAttribute('aria-busy', 'true');
    try {
      const res = await api('POST', '/handoffs/' + enc(id) + '/appointments', body);
      if (appt.handoffId !== id) return;
      apptUi.form.reset();
      updatePlaceLabel();
      apptDone('create', res);
    } catch (e) {
      if (appt.handoffId === id) report(e, apptUi.formError);
    } finally {
      appt.busy = false;
      apptUi.submit.disabled = false;
      apptUi.form.setAttribute('aria-busy', 'false');
      if (appt.handoffId === id) await loadAppointments(id, false);
    }
  }

  /** The person pressed a button about an appointment (or a colleague changed one). */
  function onAppointmentEvent(ev) {
    if (!ev.appointment_id) return;
    const apptId = String(ev.appointment_id);
    const note = APPT.kinds[ev.kind] || '';
    const ask = ev.kind === 'reschedule_requested' || ev.kind === 'declined';
    const shown = !!(appt.data && (appt.data.appointments || []).some((a) => a.id === apptId));
    scheduleAppointments();
    if (!note) return;
    if (shown) {
      showApptAlert(note, ask);
      return;
    }
    if (!APPT.elsewhere.includes(ev.kind)) return;
    // Another conversation: say which, if this référent follows that person.
    api('GET', '/appointments/' + enc(apptId)).then((a) => {
      if (!a || !state.me || a.handoff_id === undefined) return;
      const hid = idOf(a.handoff_id);
      if (hid === state.currentId) {
        showApptAlert(note, ask);
        return;
      }
      state.unread.add(hid);
      renderQueue();
      showBanner('Conversation n° ' + hid + ' : ' + note, 'info');
      clearTimeout(state.bannerTimer); // stays until read
      const text = ui.banner.querySelector('.banner-text');
      if (text) {
        text.append(' ', el('button', {
          type: 'button', class: 'btn btn-small', 'data-testid': 'appointment-open',
          onclick: () => { showBanner(''); openConversation(hid, { focus: true }); }
        }, 'Ouvrir la conversation'));
      }
    }).catch(() => { /* not theirs to follow: nothing to say */ });
  }

  function bindAppointments() {
    apptUi.form.addEventListener('submit', onApptSubmit);
    apptUi.form.addEventListener('change', (ev) => {
      if (ev.target && ev.target.name === 'appt-mode') updatePlaceLabel();
    });
    updatePlaceLabel();
  }

  /* ---------- wiring ---------- */

  function bind() {
    ui.loginForm.addEventListener('submit', onLogin);
    ui.logout.addEventListener('click', onLogout);
    ui.tabs.addEventListener('click', (ev) => {
      const tab = ev.target.closest('[role="tab"]');
      if (tab) selectTab(tab.dataset.tab, true);
    });
    ui.tabs.addEventListener('keydown', onTabKey);
    ui.bannerClose.addEventListener('click', () => { showBanner(''); document.getElementById('main').focus(); });
    ui.bannerShow.addEventListener('click', () => {
      showBanner('');
      state.urgentUnseen = false;
      selectTab('queue', false);
      const first = ui.listWaiting.querySelector('[data-testid="claim-button"]');
      if (first) first.focus(); else $('h-waiting').focus();
    });
    ui.replyForm.addEventListener('submit', onReplySubmit);
    ui.reply.addEventListener('keydown', onReplyKey);
    ui.reply.addEventListener('input', () => { saveDraft(); updateCounter(); });
    ui.noteForm.addEventListener('submit', onNoteSubmit);
    ui.note.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey) && !ev.isComposing) {
        ev.preventDefault();
        ui.noteForm.requestSubmit();
      }
    });
    ui.release.addEventListener('click', () => act('release'));
    ui.transfer.addEventListener('click', () => act('transfer'));
    ui.returnBot.addEventListener('click', () => act('return'));
    ui.closeForm.addEventListener('submit', (ev) => { ev.preventDefault(); act('close'); });
    ui.closeOutcome.addEventListener('change', () => ui.closeOutcome.removeAttribute('aria-invalid'));
    ui.convClaim.addEventListener('click', (ev) => { if (state.currentId) claim(state.currentId, ev.currentTarget); });
    ui.convHide.addEventListener('click', () => { hideConversation(); $('h-mine').focus(); });
    ui.statsDays.addEventListener('change', loadStats);
    ui.statsForm.addEventListener('submit', (ev) => { ev.preventDefault(); loadStats(); });
    ui.accountForm.addEventListener('submit', onAccountSubmit);
    ui.auditForm.addEventListener('submit', (ev) => { ev.preventDefault(); loadAudit(false); });
    ui.auditMore.addEventListener('click', () => loadAudit(true));
    bindAppointments();
    try { ui.sound.checked = localStorage.getItem(SOUND_KEY) !== 'off'; } catch (e) { /* storage disabled */ }
    ui.sound.addEventListener('change', () => {
      try { localStorage.setItem(SOUND_KEY, ui.sound.checked ? 'on' : 'off'); } catch (e) { /* storage disabled */ }
    });
    const seen = () => {
      if (!document.hidden && state.urgentUnseen) {
        state.urgentUnseen = false;
        updateTitle();
      }
    };
    document.addEventListener('visibilitychange', seen);
    window.addEventListener('focus', seen);
  }

  start();
}());
