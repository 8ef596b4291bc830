import path from 'node:path';
import express, { type Router } from 'express';
import { notFoundBody, reply } from '../api/bodies';
import { buildOpenApiDocument } from '../api/openapi-document';
import { API_ROUTES, expressPath } from '../api/routes';

/** The renderer's files, served from node_modules (swagger-ui-dist): no CDN, nothing fetched by the browser elsewhere. */
const SWAGGER_UI = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const ASSETS: Record<string, { file: string; type: string }> = {
  'swagger-ui.css': { file: path.join(SWAGGER_UI, 'swagger-ui.css'), type: 'text/css' },
  'swagger-ui-bundle.js': { file: path.join(SWAGGER_UI, 'swagger-ui-bundle.js'), type: 'text/javascript' },
};
export const DOCS_ASSETS_PATH = '/docs/assets/:file';

/** The page's own script, a file rather than inline so that the CSP needs no 'unsafe-inline' for scripts. */
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#reference', deepLinking: true, tryItOutEnabled: false });\n`;
const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>relay-stack API reference</title><link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="reference"></div><script src="/docs/assets/swagger-ui-bundle.js"></script><script src="/docs/assets/init.js"></script></body>
</html>
`;

/**
 * Only this origin's scripts, styles, fetches and images (Swagger UI's icons are data: URIs). Swagger UI sets
 * element styles from script (CSSOM), which style-src does not govern, so no 'unsafe-inline' is needed.
 */
export const DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * GET /openapi.json (built once, at start) and GET /docs, the reference rendered by Swagger UI. Public: no API key,
 * it describes nothing that is not in the repository.
 */
export function apiDocsRoutes(): Router {
  const document = JSON.stringify(buildOpenApiDocument());
  const router = express.Router();
  router.get(expressPath(API_ROUTES.openApi), (_request, response) => void response.type('application/json').send(document));
  router.get(expressPath(API_ROUTES.reference), (_request, response) => void response.set('Content-Security-Policy', DOCS_CSP).type('html').send(PAGE));
  router.get(DOCS_ASSETS_PATH, (request, response) => {
    response.set('Content-Security-Policy', DOCS_CSP).set('Cache-Control', 'public, max-age=3600');
    if (request.params.file === 'init.js') return void response.type('text/javascript').send(INIT_SCRIPT);
    const asset = ASSETS[request.params.file as string];
    if (!asset) return reply(response, 404, notFoundBody, { error: 'not_found' });
    response.type(asset.type).sendFile(asset.file);
  });
  return router;
}
