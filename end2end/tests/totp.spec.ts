import { test, expect, type Page } from '@playwright/test';
import {
  PASSWORD,
  accountNav,
  mailedLink,
  openHydrated,
  registerThroughForm,
  registerVerified,
  totpCode,
  uniqueName,
} from './helpers';

/** Turns TOTP on from /profile (a code and the password); returns the secret and the
 * recovery codes shown. */
async function enrol(page: Page): Promise<{ secret: string; codes: string[] }> {
  await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
  const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
  await expect(page.getByRole('img', { name: 'QR code of the setup key' })).toBeVisible();
  const form = page.getByRole('form', { name: 'Turn on two-factor sign-in' });
  await form.getByLabel('Code from your authenticator').fill(totpCode(secret));
  await form.getByLabel('Your password').fill(PASSWORD);
  await form.getByRole('button', { name: 'Turn on' }).click();
  const list = page.getByTestId('recovery-codes').getByRole('listitem');
  await expect(list).toHaveCount(10);
  return { secret, codes: (await list.allTextContents()).map((c) => c.trim()) };
}

async function signOut(page: Page) {
  await accountNav(page).getByRole('button', { name: 'Sign out' }).click();
  await expect(accountNav(page).getByRole('link', { name: 'Sign in' })).toBeVisible();
}

async function signInWithCode(page: Page, name: string, code: string, js: boolean) {
  await (js ? openHydrated(page, '/login?next=%2Fsessions') : page.goto('/login?next=%2Fsessions'));
  await page.getByLabel('Username').fill(name);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL(/\/login\/totp\?next=%2Fsessions$/);
  await page.getByLabel('Code', { exact: true }).fill(code);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

for (const js of [true, false]) {
  test.describe(js ? 'with JavaScript' : 'with JavaScript disabled', () => {
    test.use({ javaScriptEnabled: js });

    test('enrol TOTP, then sign in with a code, with a recovery code, and not with a spent one', async ({ page }) => {
      const name = uniqueName(js ? 'totp' : 'totpnojs');
      await registerThroughForm(page, name, js);
      const { secret, codes } = await enrol(page);
      await expect(page.getByTestId('totp-status')).toContainText('On');
      await signOut(page);

      // The code that turned TOTP on is spent: the next step's is the one to use.
      await signInWithCode(page, name, totpCode(secret, 30), js);
      await expect(page).toHaveURL(/\/sessions$/);
      await expect(page.getByTestId('sessions')).toContainText('with a password and a code');
      await signOut(page);

      await signInWithCode(page, name, codes[0], js);
      await expect(page).toHaveURL(/\/sessions$/);
      await signOut(page);

      await signInWithCode(page, name, codes[0], js);
      await expect(page.getByTestId('form-error')).toHaveText('code: invalid, expired or already used');
      await expect(accountNav(page).getByRole('link', { name: 'Sign in' })).toBeVisible();
    });

    test('a password reset of an account with TOTP asks for the code before signing in', async ({ page }) => {
      const { name, email } = await registerVerified(page, js ? 'totpreset' : 'totpresetnojs', js);
      const { secret } = await enrol(page);
      await signOut(page);

      await (js ? openHydrated(page, '/forgot-password') : page.goto('/forgot-password'));
      await page.getByLabel('Username or email').fill(name);
      await page.getByRole('button', { name: 'Send the link' }).click();
      await expect(page.getByTestId('forgot-status')).toHaveText(/If an account matches/);
      const link = await mailedLink(email, '/reset-password');
      await (js ? openHydrated(page, new URL(link).pathname + new URL(link).search) : page.goto(link));
      await page.getByLabel('New password', { exact: true }).fill('a password from the mailbox');
      await page.getByRole('button', { name: 'Set the new password' }).click();

      // The new password is set, but the mailbox alone does not sign in: the code first.
      await expect(page).toHaveURL(/\/login\/totp\?next=%2Fprofile%3Freset%3D1$/);
      await expect(accountNav(page).getByRole('link', { name: 'Sign in' })).toBeVisible();
      await page.getByLabel('Code', { exact: true }).fill(totpCode(secret, 30));
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await expect(page).toHaveURL(/\/profile\?reset=1$/);
      await expect(page.getByTestId('profile-username')).toHaveText(name);
      await expect(page.getByTestId('reset-status')).toBeVisible();
    });
  });
}
