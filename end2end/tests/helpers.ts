import { expect, type Browser, type Page, type BrowserContext } from '@playwright/test';
import * as fs from 'node:fs';
import * as crypto from 'node:crypto';
import * as path from 'node:path';

export const PASSWORD = 'correct horse battery';

/** A username no other test (or earlier run) has used. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** Loads a page and waits until the WASM has been fetched and run (hydrated). */
export async function openHydrated(page: Page, path: string) {
  const response = await page.goto(path);
  await page.waitForLoadState('networkidle');
  return response;
}

/** Marks the document; `expectNoReload` then proves the page was never reloaded. */
export async function markDocument(page: Page) {
  await page.evaluate(() => ((window as any).__latchMark = 'same document'));
}

export async function expectNoReload(page: Page) {
  expect(await page.evaluate(() => (window as any).__latchMark)).toBe('same document');
}

/** Registers through the hydrated form, without a page reload. */
export async function registerWithJs(page: Page, username: string) {
  await openHydrated(page, '/register');
  await markDocument(page);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByTestId('profile-username')).toHaveText(username);
  await expectNoReload(page);
}

export async function cookieValue(context: BrowserContext, name: string): Promise<string | undefined> {
  return (await context.cookies()).find((c) => c.name === name)?.value;
}

/** The header's account links and buttons. */
export function accountNav(page: Page) {
  return page.getByRole('navigation', { name: 'Account' });
}

/** Where the server writes mail when it has no SMTP server (see playwright.config.ts). */
const OUTBOX = path.join(__dirname, '..', '..', 'target', 'e2e', 'outbox');

function decodeQuotedPrintable(text: string): string {
  return text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
}

/** The links to `page` (`/verify-email`, `/reset-password`) mailed to `address` so far. */
function linksIn(address: string, page: string): string[] {
  if (!fs.existsSync(OUTBOX)) return [];
  const pattern = new RegExp(`https?://[^\\s"<]*${page}\\?token=[A-Za-z0-9_-]+`, 'g');
  const links: string[] = [];
  for (const file of fs.readdirSync(OUTBOX).filter((f) => f.endsWith('.eml')).sort()) {
    const raw = fs.readFileSync(path.join(OUTBOX, file), 'utf8');
    if (!raw.toLowerCase().includes(`to: ${address.toLowerCase()}`)) continue;
    links.push(...(decodeQuotedPrintable(raw).match(pattern) ?? []));
  }
  return [...new Set(links)];
}

/** Waits for a link to `page` mailed to `address` that is not among `seen`. */
export async function mailedLink(address: string, page: string, seen: string[] = []): Promise<string> {
  let found: string | undefined;
  await expect
    .poll(() => (found = linksIn(address, page).find((l) => !seen.includes(l))), { timeout: 10_000 })
    .toBeTruthy();
  return found!;
}

export function uniqueAddress(prefix: string): string {
  return `${uniqueName(prefix)}@example.org`.toLowerCase();
}

/** The six-digit code an authenticator app shows for `secret` (base32), `offset` seconds from now. */
export function totpCode(secret: string, offset = 0): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor((Date.now() / 1000 + offset) / 30)));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const at = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

/** Registers `name` through the form, hydrated or with JavaScript disabled; lands on /profile. */
export async function registerThroughForm(page: Page, name: string, js: boolean) {
  await (js ? openHydrated(page, '/register') : page.goto('/register'));
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/profile$/);
}

/** Another browser (a context of its own, on `baseURL` if given), signed in as `name`. */
export async function signedInElsewhere(browser: Browser, name: string, baseURL?: string): Promise<Page> {
  const other = await (await browser.newContext(baseURL ? { baseURL } : {})).newPage();
  await openHydrated(other, '/login?next=%2Fprofile');
  await other.getByLabel('Username').fill(name);
  await other.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await other.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(other.getByTestId('profile-username')).toHaveText(name);
  return other;
}

/** Fails unless a navigation of `page` finds it anonymous within 2 s; returns how long it took. */
export async function anonymousWithinTwoSeconds(page: Page): Promise<number> {
  const started = Date.now();
  await expect
    .poll(
      async () => {
        await page.goto('/');
        return await accountNav(page).getByRole('link', { name: 'Sign in' }).isVisible();
      },
      { timeout: 2_000, intervals: [100] },
    )
    .toBe(true);
  return Date.now() - started;
}

/** Registers with an email address and follows the verification link from the outbox. */
export async function registerVerified(page: Page, prefix: string, js: boolean): Promise<{ name: string; email: string }> {
  const name = uniqueName(prefix);
  const email = uniqueAddress(name);
  await (js ? openHydrated(page, '/register') : page.goto('/register'));
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Email (optional)').fill(email);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByTestId('profile-email')).toHaveText(email);
  await expect(page.getByTestId('profile-email-verified')).toHaveText('no');

  await page.goto(await mailedLink(email, '/verify-email'));
  await expect(page.getByTestId('verify-status')).toHaveText(/Your email address is verified/);
  await page.goto('/profile');
  await expect(page.getByTestId('profile-email-verified')).toHaveText('yes');
  return { name, email };
}
