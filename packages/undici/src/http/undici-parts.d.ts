// undici's dispatcher classes, each from its own module: undici's index also loads fetch,
// WebSocket, the cache and the mock agent, which cost ~9 MiB and ~70 ms at start-up unused.
declare module 'undici/lib/dispatcher/dispatcher.js' {
  import { Dispatcher } from 'undici';
  export default Dispatcher;
}
declare module 'undici/lib/api/index.js' {
  const api: Record<string, unknown>;
  export default api;
}
declare module 'undici/lib/dispatcher/agent.js' {
  import { Agent } from 'undici';
  export default Agent;
}
declare module 'undici/lib/dispatcher/proxy-agent.js' {
  import { ProxyAgent } from 'undici';
  export default ProxyAgent;
}
declare module 'undici/lib/dispatcher/env-http-proxy-agent.js' {
  import { EnvHttpProxyAgent } from 'undici';
  export default EnvHttpProxyAgent;
}
declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici';
  export default Pool;
}
declare module 'undici/lib/core/connect.js' {
  import { buildConnector } from 'undici';
  export default buildConnector;
}
declare module 'undici/lib/dispatcher/client.js' {
  import { Client } from 'undici';
  export default Client;
}
// llhttp's WebAssembly, the bytes undici compiles at its first HTTP/1.1 connection (baseline-parser.ts).
declare module 'undici/lib/llhttp/llhttp-wasm.js' {
  const bytes: Buffer;
  export default bytes;
}
declare module 'undici/lib/llhttp/llhttp_simd-wasm.js' {
  const bytes: Buffer;
  export default bytes;
}
