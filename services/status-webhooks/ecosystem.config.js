'use strict';
const { serviceApp } = require('../shared/pm2/worker-app');

// The client status-webhook dispatcher, fork mode; more replicas share its queue.
module.exports = { apps: [serviceApp('status-webhooks')] };
