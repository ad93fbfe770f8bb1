import { test, expect } from '@playwright/test';
import { accountNav, openHydrated, registerWithJs, uniqueName } from './helpers';

test.describe('every page loads and hydrates', () => {
  for (const [path, heading] of [
    ['/', 'Latch'],
    ['/login', 'Sign in'],
    ['/register', 'Register'],
  ] as const) {
    test(`${path} renders "${heading}" with no console errors`, async ({ page }) => {
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      const response = await page.goto(path);
      expect(response?.status()).toBe(200);
      await page.waitForLoadState('networkidle');
      await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
      await expect(accountNav(page).getByRole('link', { name: 'Sign in' })).toBeVisible();
      expect(errors).toEqual([]);
    });
  }

  test('an unknown path shows the 404 page', async ({ page }) => {
    const response = await page.goto('/no/such/page');
    expect(response?.status()).toBe(404);
    await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  });

  test('the stylesheet and the WASM bundle are served with long cache lifetimes', async ({ page }) => {
    const assets: { url: string; cache: string | undefined }[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/pkg/')) assets.push({ url: r.url(), cache: r.headers()['cache-control'] });
    });
    await openHydrated(page, '/');
    expect(assets.map((a) => a.url).some((u) => u.endsWith('.wasm'))).toBe(true);
    expect(assets.map((a) => a.url).some((u) => u.endsWith('.css'))).toBe(true);
    for (const asset of assets) expect(asset.cache, asset.url).toContain('immutable');
  });
});

test('the password toggle works, which only the hydrated app can do', async ({ page }) => {
  await openHydrated(page, '/login');
  const password = page.getByLabel('Password', { exact: true });
  await expect(password).toHaveAttribute('type', 'password');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(password).toHaveAttribute('type', 'text');
  await page.getByRole('button', { name: 'Hide' }).click();
  await expect(password).toHaveAttribute('type', 'password');
});

/** The `/pkg/` files a page load fetched, by name. */
function pkgRequests(page: import('@playwright/test').Page): string[] {
  const files: string[] = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/pkg/')) files.push(url.pathname.slice('/pkg/'.length));
  });
  return files;
}

async function waitHydrated(page: import('@playwright/test').Page) {
  await page.waitForFunction(() => performance.getEntriesByName('hydrated').length > 0);
}

test('the sign-in page loads no on-demand code; /register fetches its own and hydrates', async ({ page }) => {
  const files = pkgRequests(page);
  await page.goto('/login');
  await waitHydrated(page);
  await page.waitForLoadState('networkidle');
  expect(files.some((f) => f.startsWith('latch.') && f.endsWith('.wasm'))).toBe(true);
  expect(files.filter((f) => f.startsWith('split_') || f.startsWith('chunk_'))).toEqual([]);

  // A client-side navigation fetches the page's code, then shows it, hydrated.
  await accountNav(page).getByRole('link', { name: 'Register' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Register' })).toBeVisible();
  expect(files.some((f) => f.startsWith('split___register_route'))).toBe(true);
  const password = page.getByLabel('Password', { exact: true });
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(password).toHaveAttribute('type', 'text');
});

test('an on-demand page loaded first is hydrated once its code arrives', async ({ page }) => {
  const files = pkgRequests(page);
  await page.goto('/register');
  await waitHydrated(page);
  expect(files.some((f) => f.startsWith('split___register_route'))).toBe(true);
  const password = page.getByLabel('Password', { exact: true });
  await expect(password).toHaveAttribute('type', 'password');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(password).toHaveAttribute('type', 'text');
});

test('signed-in pages hydrate under the Content-Security-Policy with no violation', async ({ page }) => {
  const errors: string[] = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript(() => {
    (window as any).__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      (window as any).__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  await registerWithJs(page, uniqueName('csp'));
  for (const path of ['/profile', '/sessions', '/']) {
    const response = await openHydrated(page, path);
    expect(response?.headers()['content-security-policy']).toContain("'nonce-");
    expect(await page.evaluate(() => (window as any).__cspViolations)).toEqual([]);
  }
  expect(errors).toEqual([]);
});
