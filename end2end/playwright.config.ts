import { defineConfig } from '@playwright/test';

// The release build, started by Playwright itself on a fresh database with an access
// lifetime short enough to outlive in a test. Chromium is Debian's: nothing downloads a
// browser.
const port = process.env.E2E_PORT ?? '3100';
export const ACCESS_TOKEN_LIFETIME = 2;
/** A second server, with access tokens living the default 5 minutes. */
export const LONG_PORT = String(Number(port) + 1);

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 5_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  reporter: [['list']],
  use: {
    // localhost is a secure context, so Chromium keeps the Secure cookies over http.
    baseURL: `http://localhost:${port}`,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: [
    // Access tokens living 2 s, short enough to outlive in a test.
    server(port, 'target/e2e', { ACCESS_TOKEN_LIFETIME: String(ACCESS_TOKEN_LIFETIME), THROTTLE_RESET_REQUESTS: '0' }),
    // The default 5 minutes, where only revocation can end a session in seconds
    // (sessions.spec.ts).
    server(LONG_PORT, 'target/e2e-long', {}),
  ],
});

/** The release build (or E2E_BIN, say ./target/debug/latch) on `port`, with a fresh
 * database and outbox in `dir`. No SMTP server: each message is an .eml file the tests
 * read, and its links point where the browser is. */
function server(port: string, dir: string, env: Record<string, string>) {
  return {
    command: `rm -rf ${dir} && ${process.env.E2E_BIN ?? './target/release/latch'}`,
    cwd: '..',
    url: `http://127.0.0.1:${port}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore' as const,
    stderr: 'pipe' as const,
    env: {
      LEPTOS_ENV: 'PROD',
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: 'target/site',
      DATABASE_URL: `sqlite://${dir}/latch.db`,
      // Every test registers from 127.0.0.1.
      THROTTLE_REGISTRATIONS: '0',
      OUTBOX_DIR: `${dir}/outbox`,
      PUBLIC_ORIGIN: `http://localhost:${port}`,
      RUST_LOG: 'warn',
      ...env,
    },
  };
}
