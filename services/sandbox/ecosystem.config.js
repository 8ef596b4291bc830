'use strict';
const { serviceApp } = require('../shared/pm2/worker-app');

// Dev and test stand-in for Twilio, SMTP and webhook receivers.
module.exports = { apps: [serviceApp('sandbox', { kill_timeout: 5000 })] };
