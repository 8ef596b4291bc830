'use strict';
const { serviceApp } = require('../shared/pm2/worker-app');

// One sms worker per container (scale with `docker compose up --scale sms-worker=N`), fork mode.
module.exports = { apps: [serviceApp('sms-worker')] };
