// Accessibility check of HTML pages in Debian's Chromium: axe-core (WCAG 2.1 A and AA rules) at a
// desktop and a phone width, a full-page screenshot of each, and a reflow check (no horizontal
// scrolling of the page at phone width, WCAG 1.4.10).
//
//   node axe_check.cjs NODE_DIR OUT_DIR NAME=FILE...
//
// NODE_DIR holds node_modules with axe-core and playwright-core (tests/report/node-tools.sh);
// screenshots go to OUT_DIR/NAME-<width>.png. Prints one line per page and width, every
// violation with its rule, impact, help and elements; exits 1 when there is any, 2 on a usage or
// browser error.
'use strict';

const path = require('path');

const [nodeDir, outDir, ...pages] = process.argv.slice(2);
if (!nodeDir || !outDir || pages.length === 0 || pages.some((p) => !p.includes('='))) {
  console.error('usage: node axe_check.cjs NODE_DIR OUT_DIR NAME=FILE...');
  process.exit(2);
}
const { chromium } = require(path.join(nodeDir, 'node_modules', 'playwright-core'));
const axeSource = require.resolve(path.join(nodeDir, 'node_modules', 'axe-core', 'axe.min.js'));

const kTags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const kWidths = [
  { name: 'desktop', width: 1280, height: 900 },
  { name: 'phone', width: 375, height: 812 },
];

async function main() {
  // This machine's network is closed, and the check needs none: Chromium is told not to reach
  // out (no QUIC, background networking, component updates or sync). Playwright gives it a fresh
  // profile (--user-data-dir in a temporary directory) and --no-sandbox (chromiumSandbox: false).
  const browser = await chromium.launch({
    executablePath: process.env.AMTSWEG_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: [
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  let violations = 0;
  try {
    for (const page of pages) {
      const at = page.indexOf('=');
      const name = page.slice(0, at);
      const file = path.resolve(page.slice(at + 1));
      for (const w of kWidths) {
        const context = await browser.newContext({
          viewport: { width: w.width, height: w.height },
          locale: 'de-DE',
        });
        const tab = await context.newPage();
        // Only the page itself: anything else it tried to load would be an external resource.
        const external = [];
        await tab.route('**/*', (route) => {
          const url = route.request().url();
          if (url.startsWith('file://') && url.endsWith(path.basename(file))) return route.continue();
          external.push(url);
          return route.abort();
        });
        await tab.goto('file://' + file, { waitUntil: 'load' });
        await tab.addScriptTag({ path: axeSource });
        const result = await tab.evaluate(
          (tags) => window.axe.run(document, { runOnly: { type: 'tag', values: tags } }),
          kTags,
        );
        const overflow = await tab.evaluate(() => ({
          page: document.documentElement.scrollWidth,
          viewport: document.documentElement.clientWidth,
        }));
        const png = path.join(outDir, `${name}-${w.name}.png`);
        await tab.screenshot({ path: png, fullPage: true });
        const found = result.violations.length + (overflow.page > overflow.viewport ? 1 : 0) +
                      (external.length > 0 ? 1 : 0);
        console.log(`${name} at ${w.width}px: ${result.passes.length} rules passed, ` +
                    `${result.violations.length} violated, ${result.incomplete.length} need review; ` +
                    `screenshot ${png}`);
        for (const v of result.violations) {
          console.log(`  VIOLATION ${v.id} (${v.impact}): ${v.help} [${v.tags.join(' ')}]`);
          for (const n of v.nodes.slice(0, 5)) {
            console.log(`    at ${n.target.join(' ')}: ${n.failureSummary.replace(/\n/g, ' / ')}`);
          }
          if (v.nodes.length > 5) console.log(`    ... ${v.nodes.length} elements in all`);
        }
        if (overflow.page > overflow.viewport) {
          console.log(`  VIOLATION reflow: the page is ${overflow.page}px wide in a ` +
                      `${overflow.viewport}px viewport (scrolls sideways; WCAG 1.4.10)`);
        }
        if (external.length > 0) {
          console.log(`  VIOLATION external resources: ${external.join(', ')}`);
        }
        violations += found;
        await context.close();
      }
    }
  } finally {
    await browser.close();
  }
  console.log(violations === 0 ? 'no violations' : `${violations} violation(s)`);
  process.exit(violations === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error('axe_check: ' + (e && e.stack ? e.stack : e));
  process.exit(2);
});
