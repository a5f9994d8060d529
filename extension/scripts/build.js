#!/usr/bin/env node
/*
 * Build the extension for each browser from the one source tree (src/):
 *   node scripts/build.js [--browser chromium|firefox|all] [--out dist] [--zip]
 * writes OUT/<browser>/ (load it unpacked) and, with --zip, OUT/tinyweb-<browser>-<version>.zip.
 *
 * The browsers differ only in the manifest: Chromium runs a service worker (which imports lib/*.js
 * itself), Firefox an event page that lists the same scripts; Firefox needs an add-on id and has no
 * debugger permission (Chromium uses it to capture a second width).
 */
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const ROOT = path.resolve(__dirname, "..");
const SRC = path.join(ROOT, "src");
const BACKGROUND_SCRIPTS = ["lib/settings.js", "lib/privacy.js", "lib/queue.js", "capture/widths.js", "background.js"];
// Chromium shows a page at a second width through its debugger API (lib/phone.js), which Firefox lacks.
const CHROMIUM_ONLY_PERMISSIONS = ["debugger"];
const CHROMIUM_ONLY_FILES = ["lib/phone.js"];
const GECKO = {
  id: "capture@tinyweb.dev",
  strict_min_version: "142.0",
  // Snapshots go only to the user's own server on this computer; nothing is sent to us or anyone else.
  data_collection_permissions: { required: ["none"] },
};
const BROWSERS = {
  chromium: (manifest) => manifest,
  firefox: (manifest) => {
    const out = Object.assign({}, manifest, {
      permissions: manifest.permissions.filter((p) => !CHROMIUM_ONLY_PERMISSIONS.includes(p)),
      background: { scripts: BACKGROUND_SCRIPTS },
      browser_specific_settings: { gecko: GECKO },
    });
    return out;
  },
};

function parseArgs(argv) {
  const args = { browser: "all", out: path.join(ROOT, "dist"), zip: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--zip") args.zip = true;
    else if (arg === "--browser") args.browser = argv[++i];
    else if (arg === "--out") args.out = path.resolve(argv[++i]);
    else throw new Error(`unknown argument ${arg}; usage: build.js [--browser chromium|firefox|all] [--out DIR] [--zip]`);
  }
  if (args.browser !== "all" && !(args.browser in BROWSERS)) {
    throw new Error(`--browser must be chromium, firefox or all, not ${args.browser}`);
  }
  return args;
}

function checkSources(manifest) {
  for (const file of BACKGROUND_SCRIPTS.concat([manifest.background.service_worker, "capture/capture.js"], CHROMIUM_ONLY_FILES)) {
    if (!fs.existsSync(path.join(SRC, file))) throw new Error(`src/${file} is missing`);
  }
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  if (pkg.version !== manifest.version) {
    throw new Error(`package.json version ${pkg.version} differs from manifest.json version ${manifest.version}`);
  }
}

function build(browser, manifest, args) {
  const dir = path.join(args.out, browser);
  fs.rmSync(dir, { recursive: true, force: true });
  const skip = new Set(["manifest.json"].concat(browser === "chromium" ? [] : CHROMIUM_ONLY_FILES));
  fs.cpSync(SRC, dir, { recursive: true, filter: (file) => !skip.has(path.relative(SRC, file).split(path.sep).join("/")) });
  fs.writeFileSync(path.join(dir, "manifest.json"), JSON.stringify(BROWSERS[browser](manifest), null, 2) + "\n");
  let zip = null;
  if (args.zip) {
    zip = path.join(args.out, `tinyweb-${browser}-${manifest.version}.zip`);
    // web-ext build makes the same archive the stores expect (no hidden files, deterministic order).
    execFileSync(path.join(ROOT, "node_modules", ".bin", "web-ext"), [
      "build", "--source-dir", dir, "--artifacts-dir", args.out, "--filename", path.basename(zip),
      "--overwrite-dest", "--no-config-discovery",
    ], { stdio: ["ignore", "ignore", "inherit"] });
  }
  return { browser, dir, zip };
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const manifest = JSON.parse(fs.readFileSync(path.join(SRC, "manifest.json"), "utf8"));
  checkSources(manifest);
  const browsers = args.browser === "all" ? Object.keys(BROWSERS) : [args.browser];
  for (const browser of browsers) {
    const result = build(browser, manifest, args);
    console.log(`${browser}: ${path.relative(process.cwd(), result.dir) || "."}${result.zip ? `, ${path.relative(process.cwd(), result.zip)}` : ""}`);
  }
}

try {
  main();
} catch (err) {
  console.error(`build.js: ${err.message}`);
  process.exit(1);
}
