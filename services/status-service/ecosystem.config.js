'use strict';
const { serviceApp } = require('../shared/pm2/worker-app');

// One status service per container (scale with `docker compose up --scale status-service=N`: writes are
// idempotent and ordered in SQL, so replicas need no coordination), fork mode.
module.exports = { apps: [serviceApp('status-service')] };
