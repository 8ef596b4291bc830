import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { API_ROUTES } from './routes';

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

/**
 * The OpenAPI 3.1 description of the public API, generated at start from the route registry (api/routes.ts) and
 * its zod schemas by @asteasolutions/zod-to-openapi: nothing in it is written by hand but the prose.
 */
export function buildOpenApiDocument(routes: Record<string, RouteConfig> = API_ROUTES, version = '1'): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key from `make api-key` (only its hash is stored), as `Authorization: Bearer <key>`.',
  });
  for (const route of Object.values(routes)) registry.registerPath(route);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'relay-stack API',
      version,
      description:
        'Accepts SMS, e-mail and push notification requests and answers 202 only once the message is durable in RabbitMQ ' +
        '(publisher confirm); per-channel workers deliver it. Every error is JSON with an `error` code.',
    },
    tags: [
      { name: 'messages', description: 'Send messages (API key required).' },
      { name: 'operations', description: 'Probes for load balancers and orchestrators.' },
      { name: 'description', description: 'This description and its rendered reference.' },
    ],
  });
}
