import fs from 'node:fs';
import path from 'node:path';
import express, { type Response, type Router } from 'express';
import type { FaultInjector, FaultSettings, PersonalityState } from './faults';
import type { MessageStore, StoreEvent } from './message-store';

/**
 * The page's static files (plain HTML, CSS and JS, no build step): beside this file when run from the sources,
 * under services/ next to dist/ when compiled (the Dockerfile copies the folder there too).
 */
export function inboxAssetsDir(): string {
  const candidates = [path.join(__dirname, 'public'), path.resolve(__dirname, '../../../services/sandbox/public')];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, 'index.html')));
  if (!found) throw new Error(`sandbox inbox page not found in ${candidates.join(' or ')}`);
  return found;
}

/**
 * What the page may load: its own script and styles, images from anywhere (e-mail templates link them). The
 * iframe that shows an e-mail's HTML is sandboxed without scripts on top of this, and srcdoc documents inherit it.
 */
const PAGE_CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src * data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export interface Inbox {
  router: Router;
  /** Tells every open page that the fault settings changed (called by `PUT /faults`). */
  faultsChanged(settings: Required<FaultSettings>): void;
  /** Tells every open page that a provider personality went up or down (`POST /faults/providers/{name}`). */
  providersChanged(states: Record<string, PersonalityState>): void;
}

/**
 * The sandbox's inbox as a web page: `GET /` and `/inbox` serve it, `GET /events` streams what arrives (Server-Sent
 * Events: `received`, `cleared`, `faults`, `providers`) so open pages update live; they load the list itself from `/messages`.
 */
export function inbox(options: { store: MessageStore; faults: FaultInjector }): Inbox {
  const dir = inboxAssetsDir();
  const streams = new Set<Response>();
  const send = (response: Response, event: string, data: unknown) => response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const broadcast = (event: string, data: unknown) => streams.forEach((response) => send(response, event, data));
  options.store.subscribe((change: StoreEvent) => {
    if (streams.size === 0) return;
    if (change.type === 'added') broadcast('received', change.message);
    else broadcast('cleared', {});
  });

  const router = express.Router();
  router.get(['/', '/inbox'], (_request, response) => {
    response.set({ 'content-security-policy': PAGE_CSP, 'cache-control': 'no-store' }).sendFile(path.join(dir, 'index.html'));
  });
  router.use('/inbox/assets', express.static(dir, { index: false, maxAge: 0 }));
  router.get('/events', (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    response.write('retry: 1000\n\n');
    send(response, 'faults', options.faults.current());
    send(response, 'providers', options.faults.personalities());
    streams.add(response);
    // A comment now and then keeps proxies and idle timeouts from closing a quiet stream.
    const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), 15_000);
    keepAlive.unref();
    response.on('close', () => {
      clearInterval(keepAlive);
      streams.delete(response);
    });
  });
  return { router, faultsChanged: (settings) => broadcast('faults', settings), providersChanged: (states) => broadcast('providers', states) };
}
