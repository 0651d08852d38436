import { describe, expect, it } from 'vitest';
import { DownloaderConfig, type DownloaderConfigOptions, NectarArgumentError, withDefaults } from '../src/backend.js';

describe('DownloaderConfig', () => {
  it('keeps the spec fields and extra fields, readable with get()', () => {
    const config = new DownloaderConfig({ maxConcurrent: 3, basicAuthUsername: 'u', basicAuthPassword: '', extra: { myOwnField: { deep: true } } });
    expect(config.maxConcurrent).toBe(3);
    expect(config.basicAuthPassword).toBe('');
    expect(config.extra).toEqual({ myOwnField: { deep: true } });
    expect(config.get('myOwnField')).toEqual({ deep: true });
    expect(config.get('absent', 7)).toBe(7);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.extra)).toBe(true);
  });

  it('fails tsc on a misspelt field, and does not honour it at run time', () => {
    // @ts-expect-error maxConcurent is not a field: `npm run lint` type-checks this line and fails if tsc accepts it.
    const config = new DownloaderConfig({ maxConcurent: 4 });
    expect(config.maxConcurrent).toBeUndefined();
    expect(withDefaults(config).maxConcurrent).toBe(8);
  });

  it("type-checks a backend's own fields through an interface extending DownloaderConfigOptions", () => {
    interface ThreadedOptions extends DownloaderConfigOptions {
      threads?: number;
    }
    const config = new DownloaderConfig<ThreadedOptions>({ threads: 2, maxConcurrent: 4 });
    expect(withDefaults(config).threads).toBe(2);
  });

  it('keeps unknown top-level keys from untyped callers (a JSON file)', () => {
    const config = new DownloaderConfig(JSON.parse('{"myOwnField": 1, "__proto__": {"polluted": true}}'));
    expect(config.get('myOwnField')).toBe(1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("hands extra's fields to backends beside the honoured ones", () => {
    const resolved = withDefaults(new DownloaderConfig({ retries: 1, extra: { fileMode: 'hardlink', sshIdleTimeout: 0 } }));
    expect(resolved).toMatchObject({ retries: 1, fileMode: 'hardlink', sshIdleTimeout: 0 });
  });

  it('rejects an extra that is not an object, names a honoured field or repeats a top-level key', () => {
    expect(() => new DownloaderConfig({ extra: [] as never })).toThrow(/config\.extra must be an object of field names and values, got/);
    expect(() => new DownloaderConfig({ extra: { maxConcurrent: 2 } })).toThrow(/config\.extra\.maxConcurrent is a field Nectar honours: set config\.maxConcurrent instead/);
    expect(() => new DownloaderConfig(JSON.parse('{"fileMode": "copy", "extra": {"fileMode": "hardlink"}}'))).toThrow(/config\.extra\.fileMode and config\.fileMode are both given/);
    expect(() => new DownloaderConfig({ extra: { segments: 2 } })).toThrow(/config\.extra\.segments is a field Nectar honours/);
  });

  it('fills in the documented defaults', () => {
    const resolved = withDefaults(new DownloaderConfig());
    expect(resolved).toMatchObject({ maxConcurrent: 8, sslValidation: true, retries: 3, connectTimeout: 10_000, bodyTimeout: 30_000, maxRedirects: 20 });
    expect(resolved.redirectHeaders).toEqual(['accept', 'user-agent']);
  });

  const invalid: Array<[Record<string, unknown>, RegExp]> = [
    [{ maxConcurrent: -1 }, /config\.maxConcurrent must be a positive integer, got -1/],
    [{ maxConcurrent: 1.5 }, /maxConcurrent/],
    [{ maxSpeed: Number.NaN }, /config\.maxSpeed must be a number of bytes per second, at least 1/],
    [{ maxSpeed: 0.001 }, /config\.maxSpeed must be a number of bytes per second, at least 1/],
    [{ bodyTimeout: 2 ** 31 }, /config\.bodyTimeout must be a whole number of milliseconds from 0 to 2147483647/],
    [{ requestTimeout: 1e12 }, /config\.requestTimeout must be a whole number of milliseconds/],
    [{ minSpeedTime: 10 }, /config\.minSpeedTime must be at least 1000 milliseconds/],
    [{ maxSpeed: 0 }, /maxSpeed/],
    [{ proxyUrl: 'socks4://proxy' }, /config\.proxyUrl must be http:\/\/host, https:\/\/host, socks5:\/\/host or socks5h/],
    [{ proxyUrl: 'not a url' }, /proxyUrl/],
    [{ proxyUrl: 'http://p', proxyPort: 70000 }, /config\.proxyPort must be a port number/],
    [{ proxyPort: 8080 }, /config\.proxyPort needs config\.proxyUrl/],
    [{ sslCaCert: 'PEM', sslCaCertPath: '/ca.pem' }, /sslCaCert and config\.sslCaCertPath are mutually exclusive/],
    [{ sslClientCert: 'a', sslClientCertPath: 'b' }, /sslClientCert and config\.sslClientCertPath/],
    [{ sslClientKey: 'k' }, /config\.sslClientKey needs config\.sslClientCert or config\.sslClientCertPath/],
    [{ basicAuthPassword: 'p' }, /basicAuthPassword needs config\.basicAuthUsername/],
    [{ sslValidation: 'no' }, /config\.sslValidation must be true or false/],
    [{ headers: { 'bad header': 'x' } }, /not a valid header name/],
    [{ headers: { ok: 1 } }, /headers\.ok must be a string/],
    [{ sslCaMode: 'merge' }, /'replace' or 'extend'/],
  ];
  for (const [options, message] of invalid) {
    it(`rejects ${JSON.stringify(options)} naming the field`, () => {
      const make = () => new DownloaderConfig(options as DownloaderConfigOptions);
      expect(make).toThrow(NectarArgumentError);
      expect(make).toThrow(message);
    });
  }

  it('rejects a config that is not an object', () => {
    expect(() => new DownloaderConfig(null as never)).toThrow(/config must be an object/);
  });
});
