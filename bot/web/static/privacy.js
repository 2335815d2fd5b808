/* Relais: the person's data export. Plain JavaScript; every value is shown with textContent. */
(function () {
  'use strict';

  const I18N = {
    fr: {
      title: 'Relais — mes données', heading: 'Tes données chez Relais',
      subtitle: 'Tout ce que Relais garde sur toi, pour toi seul·e.',
      loading: 'Chargement…', ready: 'Voici tout ce que Relais garde sur toi.',
      download: 'Télécharger mes données (JSON)',
      hint: 'Ce lien ne marche qu’une fois : télécharge le fichier avant de fermer la page.',
      gone: 'Ce lien a déjà servi ou a expiré. Redemande tes données dans la conversation.',
      failed: 'La connexion a échoué. Recharge la page pour réessayer.',
      profile: 'Ton profil', web_chat_sessions: 'Tes sessions de chat web',
      conversations: 'Tes conversations', handoffs: 'Tes demandes pour parler à quelqu’un',
      self_assessment: 'Ton bilan « Trouver ma voie »', consents: 'Tes réponses à nos demandes d’accord',
      appointments: 'Tes rendez-vous', reminders: 'Tes rappels',
      contact_preference: 'Messages de notre part', other: 'Autres données',
      conversation: 'Conversation du {date}', none: 'Rien.', yes: 'oui', no: 'non',
      from_user: 'Toi', from_bot: 'Relais', from_referent: 'Référent·e', from_system: 'Relais (message automatique)',
      button: 'bouton'
    },
    en: {
      title: 'Relais — my data', heading: 'Your data at Relais',
      subtitle: 'Everything Relais keeps about you, just for you.',
      loading: 'Loading…', ready: 'Here is everything Relais keeps about you.',
      download: 'Download my data (JSON)',
      hint: 'This link works only once: download the file before you close the page.',
      gone: 'This link has already been used or has expired. Ask for your data again in the conversation.',
      failed: 'The connection failed. Reload the page to try again.',
      profile: 'Your profile', web_chat_sessions: 'Your web chat sessions',
      conversations: 'Your conversations', handoffs: 'Your requests to talk with someone',
      self_assessment: 'Your “Find my way” self-assessment', consents: 'Your answers to our requests for agreement',
      appointments: 'Your appointments', reminders: 'Your reminders',
      contact_preference: 'Messages from us', other: 'Other data',
      conversation: 'Conversation of {date}', none: 'Nothing.', yes: 'yes', no: 'no',
      from_user: 'You', from_bot: 'Relais', from_referent: 'Adviser', from_system: 'Relais (automatic message)',
      button: 'button'
    }
  };

  /** Words for the export's keys; a key not listed is shown as it is, underscores as spaces. */
  const KEYS = {
    fr: {
      id: 'identifiant', channel: 'canal', channel_id: 'identifiant sur le canal', locale: 'langue',
      created_at: 'créé le', last_seen_at: 'dernière visite', status: 'état', priority: 'priorité',
      reason: 'motif', territory: 'territoire', share_history: 'historique partagé',
      requested_at: 'demandé le', queued_at: 'en file le', claimed_at: 'pris en charge le',
      closed_at: 'terminé le', outcome: 'issue', referent_notes: 'notes de référent·e',
      history: 'historique', at: 'le', what: 'quoi', author: 'auteur', text: 'texte',
      role: 'rôle', answers: 'réponses', flags: 'points d’attention',
      shared_with_referents: 'partagé avec les référent·es', completed_at: 'terminé le',
      purpose: 'objet', granted: 'accordé', wording_version: 'version du texte',
      starts_at: 'date', duration_minutes: 'durée (minutes)', mode: 'mode', place: 'lieu',
      bring: 'à apporter', declined_at: 'refusé le', proposed_times: 'moments proposés',
      chosen_at: 'choisi le', appointment_id: 'rendez-vous', kind: 'type', due_at: 'prévu le',
      sent_at: 'envoyé le', stop_messages: 'plus aucun message', updated_at: 'mis à jour le'
    },
    en: {
      id: 'id', channel: 'channel', channel_id: 'id on the channel', locale: 'language',
      created_at: 'created', last_seen_at: 'last visit', share_history: 'history shared',
      requested_at: 'requested', queued_at: 'queued', claimed_at: 'taken', closed_at: 'closed',
      referent_notes: 'advisers’ notes', at: 'when', flags: 'points of attention',
      shared_with_referents: 'shared with advisers', completed_at: 'completed',
      wording_version: 'wording version', starts_at: 'when', duration_minutes: 'duration (minutes)',
      declined_at: 'declined', proposed_times: 'proposed times', chosen_at: 'chosen',
      due_at: 'due', sent_at: 'sent', stop_messages: 'no more messages', updated_at: 'updated'
    }
  };

  const SECTIONS = ['profile', 'conversations', 'handoffs', 'self_assessment', 'appointments',
    'reminders', 'consents', 'contact_preference', 'web_chat_sessions'];
  const SKIP = ['format', 'generated_at'];
  const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

  const $ = (id) => document.getElementById(id);
  let locale = /^en/i.test(navigator.language || '') ? 'en' : 'fr';

  function t(key, vars) {
    const s = I18N[locale][key] || I18N.fr[key] || key;
    return s.replace(/\{(\w+)\}/g, (_, k) => (vars && k in vars ? String(vars[k]) : ''));
  }

  function applyChrome() {
    document.documentElement.lang = locale;
    document.title = t('title');
    document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function when(value) {
    const date = new Date(value);
    if (isNaN(date.getTime())) return String(value);
    return date.toLocaleString(locale === 'en' ? 'en-GB' : 'fr-FR', { dateStyle: 'long', timeStyle: 'short' });
  }

  function label(key) {
    return KEYS[locale][key] || String(key).replace(/_/g, ' ');
  }

  /** Any JSON value as nested lists, every string through textContent. */
  function render(value) {
    if (value === null || value === undefined || value === '') return el('span', 'empty', '—');
    if (typeof value === 'boolean') return el('span', '', value ? t('yes') : t('no'));
    if (typeof value === 'string' && ISO_DATE.test(value)) return el('span', '', when(value));
    if (typeof value !== 'object') return el('span', 'text', String(value));
    if (Array.isArray(value)) {
      if (!value.length) return el('span', 'empty', t('none'));
      const list = el('ol');
      value.forEach((item) => { const li = el('li'); li.append(render(item)); list.append(li); });
      return list;
    }
    const keys = Object.keys(value);
    if (!keys.length) return el('span', 'empty', t('none'));
    const dl = el('dl');
    keys.forEach((key) => {
      const dd = el('dd');
      dd.append(render(value[key]));
      dl.append(el('dt', '', label(key)), dd);
    });
    return dl;
  }

  function renderConversations(conversations) {
    const box = el('div');
    if (!conversations.length) { box.append(el('p', 'empty', t('none'))); return box; }
    conversations.forEach((conversation) => {
      box.append(el('h3', '', t('conversation', { date: when(conversation.opened_at) })));
      const list = el('ol', 'messages');
      (conversation.messages || []).forEach((message) => {
        const item = el('li', 'from-' + String(message.from));
        item.append(el('span', 'meta', (I18N[locale]['from_' + message.from] || String(message.from)) + ' · ' + when(message.at)));
        if (typeof message.text === 'string') item.append(el('span', 'text', message.text));
        else if (typeof message.button === 'string') item.append(el('span', 'text', '[' + t('button') + '] ' + message.button));
        list.append(item);
      });
      box.append(list);
    });
    return box;
  }

  function renderAll(data) {
    const view = $('view');
    view.replaceChildren();
    const keys = SECTIONS.filter((k) => k in data)
      .concat(Object.keys(data).filter((k) => !SECTIONS.includes(k) && !SKIP.includes(k)));
    keys.forEach((key) => {
      const section = el('section');
      section.append(el('h2', '', I18N[locale][key] ? t(key) : label(key)));
      const value = data[key];
      if (key === 'conversations' && Array.isArray(value)) section.append(renderConversations(value));
      else section.append(render(value));
      view.append(section);
    });
  }

  function offerDownload(data) {
    const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
    const link = $('download');
    link.href = URL.createObjectURL(blob);
    const day = String(data.generated_at || '').slice(0, 10) || 'export';
    link.download = 'relais-mes-donnees-' + day + '.json';
    link.hidden = false;
    $('hint').hidden = false;
  }

  function showError(text) {
    const status = $('status');
    status.textContent = text;
    status.classList.add('error');
    $('download').hidden = true;
    $('hint').hidden = true;
    $('view').replaceChildren();
  }

  async function load() {
    const match = /(?:^#|&)t=([A-Za-z0-9_-]{1,128})(?:&|$)/.exec(location.hash || '');
    // The token leaves the address bar and the history at once: it works only once anyway.
    if (location.hash) history.replaceState(null, '', location.pathname + location.search);
    if (!match) { showError(t('gone')); return; }
    $('status').textContent = t('loading');
    $('status').classList.remove('error');
    let response;
    try {
      response = await fetch('/api/privacy/export', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: match[1] }),
        cache: 'no-store',
        credentials: 'omit',
        referrerPolicy: 'no-referrer'
      });
    } catch (e) {
      showError(t('failed'));
      return;
    }
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok || !data || typeof data !== 'object') {
      showError(data && typeof data.error === 'string' ? data.error : t(response.status === 410 ? 'gone' : 'failed'));
      return;
    }
    const theirs = data.profile && data.profile.locale;
    if (theirs === 'fr' || theirs === 'en') { locale = theirs; applyChrome(); }
    $('status').textContent = t('ready');
    offerDownload(data);
    renderAll(data);
  }

  function init() {
    applyChrome();
    load();
    // Another link opened in this same tab changes only the fragment: no new page load.
    window.addEventListener('hashchange', () => { if (/t=/.test(location.hash)) load(); });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
