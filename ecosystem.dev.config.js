'use strict';
// `make dev`: the whole stack under one pm2-runtime, natively. Each service's own ecosystem file is the single
// source of its PM2 settings; this file only gathers them.
const services = ['sandbox', 'app', 'sms-worker', 'email-worker', 'notif-worker', 'status-service', 'status-webhooks'];

module.exports = {
  apps: services.flatMap((service) => require(`./services/${service}/ecosystem.config.js`).apps),
};
