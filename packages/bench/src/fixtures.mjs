// The servers' trust material and the SFTP server, from our own test fixtures: the TLS CA and
// certificate of @nectar/conformance/fixtures (its vitest-free entry) and the OpenSSH fixture
// of @nectar/sftp/testing.

/** `{ tlsMaterial, disposeTlsMaterial }` of @nectar/conformance. */
export function conformanceFixtures() {
  return import('@nectar/conformance/fixtures');
}

/** `{ sftpFixture, sshdSkipReason }` of @nectar/sftp/testing. */
export function sftpTesting() {
  return import('@nectar/sftp/testing');
}
