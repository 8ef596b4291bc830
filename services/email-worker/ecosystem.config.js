'use strict';
const { serviceApp } = require('../shared/pm2/worker-app');

// One email worker per container (scale with `docker compose up --scale email-worker=N`), fork mode.
module.exports = { apps: [serviceApp('email-worker')] };
