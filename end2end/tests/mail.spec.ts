import { test, expect, type Browser, type Page } from '@playwright/test';
import { ACCESS_TOKEN_LIFETIME } from '../playwright.config';
import {
  PASSWORD,
  accountNav,
  mailedLink,
  openHydrated,
  registerVerified,
  signedInElsewhere,
  uniqueAddress,
} from './helpers';

async function resetThroughTheOutbox(page: Page, browser: Browser, js: boolean) {
  const { name, email } = await registerVerified(page, js ? 'mail' : 'mailnojs', js);
  const other = await signedInElsewhere(browser, name);
  await accountNav(page).getByRole('button', { name: 'Sign out' }).click();
  await expect(accountNav(page).getByRole('link', { name: 'Sign in' })).toBeVisible();

  await (js ? openHydrated(page, '/login') : page.goto('/login'));
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await page.getByLabel('Username or email').fill(js ? name : email);
  await page.getByRole('button', { name: 'Send the link' }).click();
  await expect(page.getByTestId('forgot-status')).toHaveText(/If an account matches/);

  await page.goto(await mailedLink(email, '/reset-password'));
  await page.getByLabel('New password', { exact: true }).fill('a password from the mailbox');
  await page.getByRole('button', { name: 'Set the new password' }).click();
  await expect(page).toHaveURL(/\/profile\?reset=1$/);
  await expect(page.getByTestId('profile-username')).toHaveText(name);
  await expect(page.getByTestId('reset-status')).toBeVisible();

  // The browser signed in before is signed out once its short access token expires.
  await other.waitForTimeout(ACCESS_TOKEN_LIFETIME * 1000 + 1200);
  await other.goto('/profile');
  await expect(other).toHaveURL(/\/login\?next=%2Fprofile$/);
  await other.context().close();

  // The link was single-use.
  await page.goto(await mailedLink(email, '/reset-password'));
  await expect(page.getByTestId('link-error')).toHaveText(/already used/);
}

test('forgot password: the link from the outbox sets a new password and signs the other browser out', async ({
  page,
  browser,
}) => {
  await resetThroughTheOutbox(page, browser, true);
});

test.describe('with JavaScript disabled', () => {
  test.use({ javaScriptEnabled: false });

  test('forgot password works with plain forms', async ({ page, browser }) => {
    await resetThroughTheOutbox(page, browser, false);
  });

  test('changing the email address and deleting the account work with plain forms', async ({ page }) => {
    const { name } = await registerVerified(page, 'mailnojs', false);
    const changeForm = page.getByRole('form', { name: 'Change email address' });
    const newEmail = uniqueAddress('changed');
    await changeForm.getByLabel('New email address').fill(newEmail);
    await changeForm.getByLabel('Your password').fill('wrong password');
    await changeForm.getByRole('button', { name: 'Change email address' }).click();
    await expect(changeForm.getByTestId('form-error')).toHaveText('password: that is not your password');
    await changeForm.getByLabel('New email address').fill(newEmail);
    await changeForm.getByLabel('Your password').fill(PASSWORD);
    await changeForm.getByRole('button', { name: 'Change email address' }).click();
    await expect(page.getByTestId('profile-email')).toHaveText(newEmail);
    await expect(page.getByTestId('profile-email-verified')).toHaveText('no');
    await expect(page.getByTestId('email-status')).toHaveText(/verification link is on its way/);
    await mailedLink(newEmail, '/verify-email');

    const deleteForm = page.getByRole('form', { name: 'Delete your account' });
    await deleteForm.getByLabel('Your password').fill(PASSWORD);
    await deleteForm.getByRole('button', { name: 'Delete my account' }).click();
    await expect(page).toHaveURL(/\/\?deleted=1$/);
    await expect(page.getByTestId('deleted-status')).toHaveText('Your account has been deleted.');
    await expect(accountNav(page).getByRole('link', { name: 'Sign in' })).toBeVisible();

    await page.goto('/login');
    await page.getByLabel('Username').fill(name);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(page.getByTestId('form-error')).toHaveText('invalid username or password');
  });
});

test('deleting the account with JavaScript signs out without a reload', async ({ page }) => {
  await registerVerified(page, 'mail', true);
  await openHydrated(page, '/profile');
  const deleteForm = page.getByRole('form', { name: 'Delete your account' });
  await deleteForm.getByLabel('Your password').fill('not it at all');
  await deleteForm.getByRole('button', { name: 'Delete my account' }).click();
  await expect(deleteForm.getByTestId('form-error')).toHaveText('password: that is not your password');
  await deleteForm.getByLabel('Your password').fill(PASSWORD);
  await deleteForm.getByRole('button', { name: 'Delete my account' }).click();
  await expect(page.getByTestId('deleted-status')).toHaveText('Your account has been deleted.');
  await expect(accountNav(page).getByRole('link', { name: 'Sign in' })).toBeVisible();
});
