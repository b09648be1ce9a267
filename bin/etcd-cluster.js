#!/usr/bin/env node
// Runs the compiled CLI (npm run build, and so npm install or npm ci, writes dist/).
require('../dist/lib/cli/index.js').main();
