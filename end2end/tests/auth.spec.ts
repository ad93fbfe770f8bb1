import { test, expect } from '@playwright/test';
import { ACCESS_TOKEN_LIFETIME } from '../playwright.config';
import {
  PASSWORD,
  accountNav,
  cookieValue,
  expectNoReload,
  markDocument,
  openHydrated,
  registerWithJs,
  uniqueName,
} from './helpers';

test('register lands on the profile, and a reload keeps the session', async ({ page }) => {
  const name = uniqueName('reg');
  await registerWithJs(page, name);
  await expect(page.getByTestId('header-username')).toHaveText(name);
  await page.reload();
  await expect(page.getByTestId('profile-username')).toHaveText(name);
  await page.getByRole('link', { name: 'Where you are signed in' }).click();
  await expect(page.getByTestId('sessions')).toContainText('this browser');
  await expect(accountNav(page).getByRole('button', { name: 'Sign out' })).toBeVisible();
});

test('the cookies are HttpOnly, SameSite=Lax and invisible to scripts', async ({ page, context }) => {
  await registerWithJs(page, uniqueName('jar'));
  const cookies = (await context.cookies()).filter((c) => c.name.startsWith('jwt_'));
  expect(cookies.map((c) => c.name).sort()).toEqual(['jwt_access', 'jwt_refresh']);
  for (const c of cookies) {
    expect(c.httpOnly).toBe(true);
    expect(c.secure).toBe(true);
    expect(c.sameSite).toBe('Lax');
    expect(c.path).toBe('/');
  }
  expect(await page.evaluate(() => document.cookie)).not.toContain('jwt_');
});

test('a signed-in header never flashes "Sign in", from the first byte to hydration', async ({ page }) => {
  const name = uniqueName('flash');
  await registerWithJs(page, name);
  await page.addInitScript(() => {
    (window as any).__sawSignIn = false;
    new MutationObserver(() => {
      if (document.querySelector('header a[href="/login"]')) (window as any).__sawSignIn = true;
    }).observe(document, { subtree: true, childList: true });
  });
  await openHydrated(page, '/');
  await expect(page.getByTestId('header-username')).toHaveText(name);
  await expect(page.getByTestId('home-status')).toHaveText(`You are signed in as ${name}.`);
  expect(await page.evaluate(() => (window as any).__sawSignIn)).toBe(false);
});

test('past the access lifetime, a server-function call refreshes the cookies quietly', async ({ page, context }) => {
  const name = uniqueName('fresh');
  await registerWithJs(page, name);
  const before = { access: await cookieValue(context, 'jwt_access'), refresh: await cookieValue(context, 'jwt_refresh') };
  await page.waitForTimeout(ACCESS_TOKEN_LIFETIME * 1000 + 1200);
  await page.getByRole('button', { name: 'Check session' }).click();
  await expect(page.getByTestId('session-status')).toHaveText(`Session active for ${name}.`);
  const after = { access: await cookieValue(context, 'jwt_access'), refresh: await cookieValue(context, 'jwt_refresh') };
  expect(after.access).toBeTruthy();
  expect(after.access).not.toBe(before.access);
  expect(after.refresh).not.toBe(before.refresh);
  await expectNoReload(page);
});

test('two tabs refreshing at once both stay signed in', async ({ context }) => {
  const first = await context.newPage();
  const name = uniqueName('tabs');
  await registerWithJs(first, name);
  const second = await context.newPage();
  await openHydrated(second, '/profile');
  await first.waitForTimeout(ACCESS_TOKEN_LIFETIME * 1000 + 1200);
  await Promise.all([
    first.getByRole('button', { name: 'Check session' }).click(),
    second.getByRole('button', { name: 'Check session' }).click(),
  ]);
  for (const page of [first, second]) {
    await expect(page.getByTestId('session-status')).toHaveText(`Session active for ${name}.`);
  }
  // Both tabs still work on the next request, with whatever cookies won.
  await second.reload();
  await expect(second.getByTestId('profile-username')).toHaveText(name);
});

test('sign out, and /profile sends you to the login page', async ({ page }) => {
  await registerWithJs(page, uniqueName('out'));
  await markDocument(page);
  await accountNav(page).getByRole('button', { name: 'Sign out' }).click();
  await expect(accountNav(page).getByRole('link', { name: 'Sign in' })).toBeVisible();
  await expectNoReload(page);
  await page.goto('/profile');
  await expect(page).toHaveURL(/\/login\?next=%2Fprofile$/);
});

test('login with JavaScript goes to next without a reload, and shows errors inline', async ({ page }) => {
  const name = uniqueName('js');
  await registerWithJs(page, name);
  await accountNav(page).getByRole('button', { name: 'Sign out' }).click();
  await expect(accountNav(page).getByRole('link', { name: 'Sign in' })).toBeVisible();

  await openHydrated(page, '/login?next=%2Fprofile');
  await markDocument(page);
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password', { exact: true }).fill('wrong password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByTestId('form-error')).toHaveText('invalid username or password');
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByTestId('profile-username')).toHaveText(name);
  await expectNoReload(page);
});

test.describe('with JavaScript disabled', () => {
  test.use({ javaScriptEnabled: false });

  test('register, sign out, fail and succeed to sign in: all plain forms', async ({ page }) => {
    const name = uniqueName('nojs');
    await page.goto('/register');
    await page.getByLabel('Username').fill(name);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect(page).toHaveURL(/\/profile$/);
    await expect(page.getByTestId('profile-username')).toHaveText(name);

    await accountNav(page).getByRole('button', { name: 'Sign out' }).click();
    await expect(page).toHaveURL(/\/$/);
    await expect(accountNav(page).getByRole('link', { name: 'Sign in' })).toBeVisible();

    await page.goto('/profile');
    await expect(page).toHaveURL(/\/login\?next=%2Fprofile$/);
    await page.getByLabel('Username').fill(name);
    await page.getByLabel('Password', { exact: true }).fill('wrong password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(page.getByTestId('form-error')).toHaveText('invalid username or password');

    await page.getByLabel('Username').fill(name);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(page).toHaveURL(/\/profile$/);
    await expect(page.getByTestId('header-username')).toHaveText(name);
  });
});

test('a form on another site cannot sign the user out', async ({ page, baseURL }) => {
  const name = uniqueName('csrf');
  await registerWithJs(page, name);
  // A page on another origin, with a form that posts to Latch's logout.
  await page.route('http://evil.test/**', (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<form method="post" action="${baseURL}/api/logout"><button>Win a prize</button></form>`,
    }),
  );
  await page.goto('http://evil.test/prize');
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/api/logout')),
    page.getByRole('button', { name: 'Win a prize' }).click(),
  ]);
  expect(response.status()).toBe(403);
  await page.goto('/profile');
  await expect(page.getByTestId('profile-username')).toHaveText(name);
});

test('changing the password signs out the other browser', async ({ page, browser }) => {
  const name = uniqueName('pw');
  await registerWithJs(page, name);
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await openHydrated(otherPage, '/login');
  await otherPage.getByLabel('Username').fill(name);
  await otherPage.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await otherPage.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(otherPage).toHaveURL(/\/$/);

  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel('New password').fill('a brand new secret');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByTestId('password-status')).toHaveText('Password changed; 1 other session(s) signed out.');

  // The other browser's access token lives 2 s; its refresh is then refused.
  await otherPage.waitForTimeout(ACCESS_TOKEN_LIFETIME * 1000 + 1200);
  await otherPage.goto('/profile');
  await expect(otherPage).toHaveURL(/\/login\?next=%2Fprofile$/);
  await other.close();
});
