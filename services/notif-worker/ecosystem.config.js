'use strict';
const { serviceApp } = require('../shared/pm2/worker-app');

// One notif worker per container (scale with `docker compose up --scale notif-worker=N`), fork mode.
module.exports = { apps: [serviceApp('notif-worker')] };
