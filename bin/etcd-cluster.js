#!/usr/bin/env node
// Runs the compiled CLI (npm run build writes dist/).
require('../dist/lib/cli.js').main();
