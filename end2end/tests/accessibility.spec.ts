import { test, expect, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { openHydrated, registerWithJs, uniqueName } from './helpers';

/** axe-core's WCAG 2.1 A and AA rules, on the hydrated page. */
async function violations(page: Page) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

test('public pages pass axe-core (WCAG 2.1 AA)', async ({ page }) => {
  for (const path of ['/', '/login', '/register', '/forgot-password', '/reset-password?token=x', '/verify-email?token=x']) {
    await openHydrated(page, path);
    expect(await violations(page), path).toEqual([]);
  }
});

test('signed-in pages, and a form showing an error, pass axe-core', async ({ page }) => {
  await registerWithJs(page, uniqueName('axe'));
  for (const path of ['/profile', '/sessions', '/profile?form=email&error=wrong_password&field=password', '/login/totp']) {
    await openHydrated(page, path);
    expect(await violations(page), path).toEqual([]);
  }
});

test('the TOTP setup, with its QR code, passes axe-core', async ({ page }) => {
  await registerWithJs(page, uniqueName('axeqr'));
  await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click();
  await expect(page.getByTestId('totp-secret')).toBeVisible();
  expect(await violations(page)).toEqual([]);
});
