import { expect, type Page, type BrowserContext } from '@playwright/test';

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
