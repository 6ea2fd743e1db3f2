"""The operator console in a real browser (headless Chromium driven by Playwright) against a local cloud."""
