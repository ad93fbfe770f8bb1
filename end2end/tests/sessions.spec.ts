import { test, expect, type Browser, type Page } from '@playwright/test';
import { LONG_PORT } from '../playwright.config';
import { PASSWORD, accountNav, openHydrated, uniqueName } from './helpers';

// Access tokens live 5 minutes on this server: only revocation can end a session fast.
test.use({ baseURL: `http://localhost:${LONG_PORT}` });

async function register(page: Page, name: string, js: boolean) {
  await (js ? openHydrated(page, '/register') : page.goto('/register'));
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/profile$/);
}

async function signedInElsewhere(browser: Browser, name: string): Promise<Page> {
  const other = await (await browser.newContext({ baseURL: `http://localhost:${LONG_PORT}` })).newPage();
  await openHydrated(other, '/login?next=%2Fprofile');
  await other.getByLabel('Username').fill(name);
  await other.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await other.getByRole('button', { name: 'Sign in' }).click();
  await expect(other.getByTestId('profile-username')).toHaveText(name);
  return other;
}

async function signOutTheOther(page: Page, browser: Browser, js: boolean) {
  const name = uniqueName(js ? 'sess' : 'sessnojs');
  await register(page, name, js);
  const other = await signedInElsewhere(browser, name);

  await (js ? openHydrated(page, '/sessions') : page.goto('/sessions'));
  const rows = page.getByTestId('session');
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: 'this browser' })).toHaveCount(1);
  await rows.filter({ hasNotText: 'this browser' }).getByRole('button', { name: 'Sign out' }).click();
  await expect(rows).toHaveCount(1);
  const signedOutAt = Date.now();

  // The other browser's access token has minutes to live, yet its next navigation
  // within 2 s is anonymous.
  await expect
    .poll(
      async () => {
        await other.goto('/');
        return await accountNav(other).getByRole('link', { name: 'Sign in' }).isVisible();
      },
      { timeout: 2_000, intervals: [100] },
    )
    .toBe(true);
  console.log(`signed out from /sessions: anonymous elsewhere after ${Date.now() - signedOutAt} ms`);
  await other.goto('/profile');
  await expect(other).toHaveURL(/\/login\?next=%2Fprofile$/);
  await other.context().close();
  await expect(accountNav(page).getByRole('button', { name: 'Sign out' })).toBeVisible();
}

test('a browser signs another out from /sessions, which is anonymous within 2 s', async ({ page, browser }) => {
  await signOutTheOther(page, browser, true);
});

test('sign out everywhere ends this browser too', async ({ page, browser }) => {
  const name = uniqueName('everywhere');
  await register(page, name, true);
  const other = await signedInElsewhere(browser, name);
  await openHydrated(page, '/sessions');
  await page.getByRole('button', { name: 'Sign out everywhere', exact: true }).click();
  await expect(accountNav(page).getByRole('link', { name: 'Sign in' })).toBeVisible();
  await expect
    .poll(
      async () => {
        await other.goto('/');
        return await accountNav(other).getByRole('link', { name: 'Sign in' }).isVisible();
      },
      { timeout: 2_000, intervals: [100] },
    )
    .toBe(true);
  await other.context().close();
});

test.describe('with JavaScript disabled', () => {
  test.use({ javaScriptEnabled: false });

  test('the sessions buttons are plain forms', async ({ page, browser }) => {
    await signOutTheOther(page, browser, false);
    const name = uniqueName('nojsall');
    await page.context().clearCookies();
    await register(page, name, false);
    await signedInElsewhere(browser, name);
    await page.goto('/sessions');
    await page.getByRole('button', { name: 'Sign out everywhere else' }).click();
    await expect(page).toHaveURL(/\/sessions$/);
    await expect(page.getByTestId('session')).toHaveCount(1);
    await page.getByRole('button', { name: 'Sign out everywhere', exact: true }).click();
    await expect(page).toHaveURL(/\/$/);
    await expect(accountNav(page).getByRole('link', { name: 'Sign in' })).toBeVisible();
  });
});
