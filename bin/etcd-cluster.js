#!/usr/bin/env node
// Runs the bundled CLI (npm run build, and so npm install or npm ci, writes dist/etcd-cluster.js).
require('./cli.js').main();
