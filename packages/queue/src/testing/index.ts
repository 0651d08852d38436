export { hasRedisServer, type RedisServer, type RedisServerOptions, startRedisServer } from './redis-server.js';
