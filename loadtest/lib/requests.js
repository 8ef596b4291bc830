// Valid request bodies for the app's HTTP API (docs/contract.md) and the one call every script makes: POST a
// message, expect 202. Recipients are ordinary ones that the sandbox accepts; with FAIL_RATIO > 0 that share goes
// to the sandbox's permanent-failure recipients (docs/architecture.md, "Sandbox magic recipients"), which are
// dead-lettered on the first attempt without retries. With API_KEY set, every POST carries
// `Authorization: Bearer <API_KEY>` (the API's auth, docs/contract.md); unset, no header is sent.
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import { API_KEY, BASE_URL, CHANNELS, FAIL_RATIO } from './config.js';

/** @typedef {import('./config.js').Channel} Channel */

/** 202 responses k6 saw, per channel; compared with the app's own count in the summary. */
const apiAccepted = new Counter('api_accepted');

/** Headers of every POST: JSON, plus the API key as a bearer token when API_KEY is set. */
/** @type {Record<string, string>} */
const HEADERS = { 'Content-Type': 'application/json' };
if (API_KEY) HEADERS.Authorization = `Bearer ${API_KEY}`;

/** @type {Record<Channel, string>} */
export const PATHS = { sms: '/v1/sms', email: '/v1/email', notif: '/v1/notifications' };

/** @param {number} max @returns {number} */
function randInt(max) {
    return Math.floor(Math.random() * max);
}

function ref() {
    return `${__VU}-${__ITER}-${randInt(1e6)}`;
}

/** POST /v1/sms `{ to, body }`. @param {boolean} [fail] */
export function smsBody(fail = false) {
    const to = fail ? '+15005550001' : `+1415555${String(randInt(10000)).padStart(4, '0')}`;
    return { to, body: `relay-stack load test ${ref()}` };
}

/** POST /v1/email `{ to, subject, text }`. @param {boolean} [fail] */
export function emailBody(fail = false) {
    const to = fail ? 'fail-permanent@sandbox.test' : `load-${randInt(100000)}@example.com`;
    return { to, subject: `Load test ${ref()}`, text: 'Sent by the relay-stack k6 load test.' };
}

/** POST /v1/notifications `{ recipient, title, body, data }`. @param {boolean} [fail] */
export function notifBody(fail = false) {
    const recipient = fail ? 'fail-permanent' : `user-${randInt(100000)}`;
    return { recipient, title: 'Load test', body: `relay-stack load test ${ref()}`, data: { source: 'k6', ref: ref() } };
}

/** @param {Channel} channel @returns {object} */
export function bodyFor(channel) {
    const fail = FAIL_RATIO > 0 && Math.random() < FAIL_RATIO;
    switch (channel) {
        case 'sms':
            return smsBody(fail);
        case 'email':
            return emailBody(fail);
        case 'notif':
            return notifBody(fail);
    }
}

/** Picks a channel at random, weighted by a MIX. @param {Record<Channel, number>} mix @returns {Channel} */
export function pickChannel(mix) {
    let r = Math.random();
    for (const channel of CHANNELS) {
        r -= mix[channel];
        if (r < 0) return channel;
    }
    return 'sms';
}

/**
 * POSTs one valid message. Tagged kind=accept (thresholds) and channel; only 202 counts as success.
 * @param {Channel} channel
 */
export function send(channel) {
    const res = http.post(`${BASE_URL}${PATHS[channel]}`, JSON.stringify(bodyFor(channel)), {
        headers: HEADERS,
        tags: { kind: 'accept', channel, name: PATHS[channel] },
        responseCallback: http.expectedStatuses(202),
    });
    if (check(res, { 'accepted (202)': (r) => r.status === 202 }, { channel })) {
        apiAccepted.add(1, { channel });
    }
    return res;
}

/** setup(): the app must answer GET /readyz with 200 (broker connected) before any load is offered. */
export function checkReady() {
    const res = http.get(`${BASE_URL}/readyz`, { tags: { kind: 'setup', name: 'readyz' } });
    if (res.status !== 200) throw new Error(`app not ready: GET ${BASE_URL}/readyz -> ${res.status} ${res.error}`);
}
