'use strict';
const path = require('node:path');
const { apiInstances } = require('../shared/pm2/available-cpus');
const { serviceApp, root } = require('../shared/pm2/worker-app');

// The HTTP API in PM2 cluster mode: instances share port 8080 through Node's cluster module, managed by PM2.
// app-limits holds the rate-limit counters of all instances and serves them on a unix socket (LIMITS_SOCKET,
// services/app/limits/limits-master.ts); it comes first so the instances find it when they start (they wait for it
// at start and reconnect if it is late or restarts).
module.exports = {
  apps: [
    serviceApp('app-limits', { script: path.join(root, 'dist/services/app/limits/limits-master.js'), max_memory_restart: '256M' }),
    serviceApp('app', { exec_mode: 'cluster', instances: apiInstances() }),
  ],
};
