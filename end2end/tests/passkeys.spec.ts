import { test, expect, type CDPSession, type Page } from '@playwright/test';
import { PASSWORD, accountNav, openHydrated, registerThroughForm, uniqueName } from './helpers';

/** Chromium's virtual authenticator, as a phone or laptop with a screen lock: CTAP2,
 * built in, holding discoverable credentials, verifying its user without a prompt. */
async function virtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

async function signOut(page: Page) {
  await accountNav(page).getByRole('button', { name: 'Sign out' }).click();
  await expect(accountNav(page).getByRole('link', { name: 'Sign in' })).toBeVisible();
}

test('add a passkey, sign out, sign in with it; once removed, it is refused', async ({ page }) => {
  const { cdp, authenticatorId } = await virtualAuthenticator(page);
  const name = uniqueName('passkey');
  await registerThroughForm(page, name, true);
  await openHydrated(page, '/profile');
  await expect(page.getByTestId('passkeys-none')).toBeVisible();

  const add = page.getByRole('form', { name: 'Add a passkey' });
  await add.getByLabel('Name').fill('Virtual laptop');
  await add.getByLabel('Your password').fill(PASSWORD);
  await add.getByRole('button', { name: 'Add a passkey' }).click();
  await expect(page.getByTestId('passkey')).toContainText('Virtual laptop');
  await expect(page.getByTestId('passkey')).toContainText('last used never');
  // The authenticator holds it as a discoverable credential: no username at sign-in.
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0].isResidentCredential).toBe(true);
  await signOut(page);

  await openHydrated(page, '/login?next=%2Fsessions');
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page).toHaveURL(/\/sessions$/);
  await expect(accountNav(page)).toContainText(name);
  await expect(page.getByTestId('sessions')).toContainText('with a passkey');

  await openHydrated(page, '/profile');
  await expect(page.getByTestId('passkey')).not.toContainText('last used never');
  await page.getByTestId('passkey').getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByTestId('passkeys-none')).toBeVisible();
  await signOut(page);

  // The authenticator still offers it; the site no longer knows it.
  await openHydrated(page, '/login');
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByRole('form', { name: 'Sign in with a passkey' }).getByRole('alert')).toHaveText(
    'this passkey was not accepted',
  );
  await expect(accountNav(page).getByRole('link', { name: 'Sign in' })).toBeVisible();
});

test.describe('with JavaScript disabled', () => {
  test.use({ javaScriptEnabled: false });

  test('passkeys are hidden where they cannot run; the list still shows', async ({ page }) => {
    await page.goto('/login');
    await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Sign in with a passkey' })).toBeHidden();
    await registerThroughForm(page, uniqueName('nopasskey'), false);
    await expect(page.getByRole('heading', { name: 'Passkeys' })).toBeVisible();
    await expect(page.getByTestId('passkeys-none')).toBeVisible();
    await expect(page.getByRole('button', { name: 'Add a passkey' })).toBeHidden();
  });
});
