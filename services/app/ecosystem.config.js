'use strict';
const { apiInstances } = require('../shared/pm2/available-cpus');
const { serviceApp } = require('../shared/pm2/worker-app');

// The HTTP API in PM2 cluster mode: instances share port 8080 through Node's cluster module, managed by PM2.
module.exports = {
  apps: [serviceApp('app', { exec_mode: 'cluster', instances: apiInstances() })],
};
