import { chromium } from 'playwright-core';
import { startHostServer } from '../host-server';
(async () => {
  const host = await startHostServer({ distDir: '/tmp/sg-plugin-dist', jsonData: { collectorUrl: 'http://127.0.0.1:1' }, query: { channel: 'x', constant: 7 } });
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox','--disable-gpu','--disable-quic','--no-first-run','--disable-background-networking','--disable-component-update','--disable-sync'] });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on('console', (m) => console.log('console:', m.type(), m.text().slice(0, 300)));
  page.on('pageerror', (e) => console.log('pageerror:', e.message.slice(0, 500)));
  await page.goto(host.url);
  await page.waitForTimeout(6000);
  console.log(JSON.stringify(await page.evaluate(() => (window as any).__SG_HOST_STATE__)).slice(0, 1500));
  await page.screenshot({ path: '/tmp/sg-host-try.png', fullPage: true });
  await browser.close(); await host.close();
})();
