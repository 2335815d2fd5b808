'use strict';
// Test harness: the npm Telegram Bot API emulator `telegram-test-api`, with the answers it
// gives bots brought in line with the real Bot API where python-telegram-bot 22 relies on
// it: getMe carries `is_bot`, dates are in seconds (the emulator uses milliseconds), and a
// callback query carries `chat_instance`, and the messages it echoes back hold objects,
// not the JSON strings the bot posted, and an edit answers true rather than null. The product is not adapted to the emulator.
//
// Usage: node tests/utils/telegram_emulator.js PORT   (prints "ready" when listening)
const path = require('path');

const root = path.dirname(require.resolve('telegram-test-api'));
const sendResultModule = require(path.join(root, 'modules', 'sendResult.js'));
const { TelegramServer } = require(path.join(root, 'telegramServer.js'));

const JSON_FIELDS = new Set(['link_preview_options', 'reply_markup', 'entities', 'caption_entities']);

function toBotApi(value, key) {
  if (JSON_FIELDS.has(key) && typeof value === 'string') {
    try { return toBotApi(JSON.parse(value), key); } catch (e) { return value; }
  }
  if (Array.isArray(value)) return value.map((item) => toBotApi(item));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = toBotApi(v, k);
    if ('callback_query' in out && out.callback_query && !out.callback_query.chat_instance) {
      out.callback_query.chat_instance = 'emulator';
    }
    return out;
  }
  if (key === 'date' && typeof value === 'number' && value > 1e11) return Math.floor(value / 1000);
  return value;
}

// Fault injection, for the tests of the channel's retries (not part of the emulator):
//   POST /control/fail?token=T&method=sendMessage&count=N&status=500|429|403[&retry_after=S]
// makes that bot's next N calls of that method fail as the real Bot API does (a 429 says
// how long to wait in parameters.retry_after); nothing is stored for a failed call.
//   GET /control/calls?token=T&method=sendMessage
//     -> {"failed": n, "ok": n, "pending": n, "log": [[milliseconds, status], ...]}
const faults = new Map(); // "token/method" -> [{status, retryAfter}, ...] still to fail
const calls = new Map(); // "token/method" -> {failed, ok, log}

function callsOf(key) {
  if (!calls.has(key)) calls.set(key, { failed: 0, ok: 0, log: [] });
  return calls.get(key);
}

function control(req, res) {
  const key = `${req.query.token}/${req.query.method || 'sendMessage'}`;
  if (req.method === 'POST' && req.path === '/control/fail') {
    const count = Number(req.query.count || 1);
    const fault = { status: Number(req.query.status || 500), retryAfter: Number(req.query.retry_after || 0) };
    faults.set(key, [...(faults.get(key) || []), ...Array.from({ length: count }, () => fault)]);
    res.status(200).type('json').send(JSON.stringify({ ok: true, pending: faults.get(key).length }));
    return true;
  }
  if (req.method === 'GET' && req.path === '/control/calls') {
    const pending = (faults.get(key) || []).length;
    res.status(200).type('json').send(JSON.stringify({ ...callsOf(key), pending }));
    return true;
  }
  return false;
}

function injectFault(req, res) {
  const match = /^\/bot([^/]+)\/(\w+)$/.exec(req.path);
  if (!match) return false;
  const key = `${match[1]}/${match[2]}`;
  const pending = faults.get(key) || [];
  const fault = pending.shift();
  if (!fault) {
    callsOf(key).ok += 1;
    callsOf(key).log.push([Date.now(), 200]);
    return false;
  }
  callsOf(key).failed += 1;
  callsOf(key).log.push([Date.now(), fault.status]);
  const body = fault.status === 429
    ? { ok: false, error_code: 429, description: `Too Many Requests: retry after ${fault.retryAfter}`,
        parameters: { retry_after: fault.retryAfter } }
    : fault.status === 403
      ? { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' }
      : { ok: false, error_code: fault.status, description: 'Internal Server Error' };
  res.status(fault.status).type('json').send(JSON.stringify(body));
  return true;
}

const originalSendResult = sendResultModule.sendResult;
sendResultModule.sendResult = (req, res, next) => {
  if (control(req, res) || injectFault(req, res)) return;
  const json = res.json.bind(res);
  res.json = (body) => {
    const fixed = toBotApi(body);
    if (/\/getMe$/.test(req.path) && fixed && fixed.result) fixed.result.is_bot = true;
    // The Bot API answers an edit with the message or true; the emulator with null.
    if (/\/editMessage\w+$/.test(req.path) && fixed && fixed.ok && fixed.result == null) {
      fixed.result = true;
    }
    return json(fixed);
  };
  originalSendResult(req, res, next);
};

async function main() {
  const port = Number(process.argv[2] || 9000);
  const server = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 600 });
  await server.start();
  process.stdout.write('ready\n');
  const stop = async () => { await server.stop(); process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error) => { console.error(error); process.exit(1); });
