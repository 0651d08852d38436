// What @nectar/undici imports from undici, without the rest of undici's index (fetch, WebSocket,
// cookies, mocks, caches): evaluating all of it is a third of a plain `nectar get`'s start-up.
// The bundle (scripts/bundle.mjs) uses it in place of `undici` for @nectar/undici only. Like
// undici's index, it gives every dispatcher the request()/stream() API.
const Dispatcher = require('undici/lib/dispatcher/dispatcher.js');
const api = require('undici/lib/api/index.js');

Object.assign(Dispatcher.prototype, api);

module.exports = {
  Dispatcher,
  Agent: require('undici/lib/dispatcher/agent.js'),
  Pool: require('undici/lib/dispatcher/pool.js'),
  ProxyAgent: require('undici/lib/dispatcher/proxy-agent.js'),
  EnvHttpProxyAgent: require('undici/lib/dispatcher/env-http-proxy-agent.js'),
};
