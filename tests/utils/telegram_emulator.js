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

const originalSendResult = sendResultModule.sendResult;
sendResultModule.sendResult = (req, res, next) => {
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
