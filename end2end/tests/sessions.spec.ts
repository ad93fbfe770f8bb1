import { test, expect, type Browser, type Page } from '@playwright/test';
import { LONG_PORT } from '../playwright.config';
import {
  accountNav,
  anonymousWithinTwoSeconds,
  openHydrated,
  registerThroughForm,
  signedInElsewhere,
  uniqueName,
} from './helpers';

const LONG = `http://localhost:${LONG_PORT}`;

// Access tokens live 5 minutes on this server: only revocation can end a session fast.
test.use({ baseURL: LONG });

async function signOutTheOther(page: Page, browser: Browser, js: boolean) {
  const name = uniqueName(js ? 'sess' : 'sessnojs');
  await registerThroughForm(page, name, js);
  const other = await signedInElsewhere(browser, name, LONG);

  await (js ? openHydrated(page, '/sessions') : page.goto('/sessions'));
  const rows = page.getByTestId('session');
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: 'this browser' })).toHaveCount(1);
  await rows.filter({ hasNotText: 'this browser' }).getByRole('button', { name: 'Sign out' }).click();
  await expect(rows).toHaveCount(1);

  // The other browser's access token has minutes to live, yet its next navigation
  // within 2 s is anonymous.
  const took = await anonymousWithinTwoSeconds(other);
  console.log(`signed out from /sessions: anonymous elsewhere after ${took} ms`);
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
  await registerThroughForm(page, name, true);
  const other = await signedInElsewhere(browser, name, LONG);
  await openHydrated(page, '/sessions');
  await page.getByRole('button', { name: 'Sign out everywhere', exact: true }).click();
  await expect(accountNav(page).getByRole('link', { name: 'Sign in' })).toBeVisible();
  await anonymousWithinTwoSeconds(other);
  await other.context().close();
});

test.describe('with JavaScript disabled', () => {
  test.use({ javaScriptEnabled: false });

  test('the sessions buttons are plain forms', async ({ page, browser }) => {
    await signOutTheOther(page, browser, false);
    const name = uniqueName('nojsall');
    await page.context().clearCookies();
    await registerThroughForm(page, name, false);
    await signedInElsewhere(browser, name, LONG);
    await page.goto('/sessions');
    await page.getByRole('button', { name: 'Sign out everywhere else' }).click();
    await expect(page).toHaveURL(/\/sessions$/);
    await expect(page.getByTestId('session')).toHaveCount(1);
    await page.getByRole('button', { name: 'Sign out everywhere', exact: true }).click();
    await expect(page).toHaveURL(/\/$/);
    await expect(accountNav(page).getByRole('link', { name: 'Sign in' })).toBeVisible();
  });
});
