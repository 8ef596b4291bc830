import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { ROOT } from './broker';

const run = promisify(execFile);

/** The parts of an OpenAPI 3.1 document the checks read. */
interface Document {
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: unknown }> }; responses: Record<string, Response> }>>;
}
interface Response {
  headers?: Record<string, { required?: boolean; schema: unknown }>;
  content?: Record<string, { schema: unknown }>;
}

export interface Answer {
  method: string;
  /** The path template of the description, e.g. `/v1/sms`. */
  path: string;
  status: number;
  headers: Headers;
  contentType: string;
  body: unknown;
}

/**
 * Validates the document against the OpenAPI 3.1 JSON Schema with @seriousme/openapi-schema-validator (its CLI: the
 * package is ES modules only, which jest's CommonJS runtime cannot load). Resolves with the validator's report.
 */
export async function validateDocument(document: unknown): Promise<{ valid: boolean; errors?: unknown }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relay-openapi-'));
  const file = path.join(dir, 'openapi.json');
  fs.writeFileSync(file, JSON.stringify(document));
  try {
    const cli = path.join(ROOT, 'node_modules/@seriousme/openapi-schema-validator/bin/validate-api-cli.js');
    const { stdout } = await run(process.execPath, [cli, file]).catch((error: { stdout: string }) => ({ stdout: error.stdout }));
    return JSON.parse(stdout) as { valid: boolean; errors?: unknown };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** JSON Pointer escaping of one path segment (RFC 6901). */
const pointer = (...segments: string[]) => segments.map((segment) => segment.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/**
 * Checks real answers against a description: the operation and status are described, the body matches the
 * response's schema (JSON Schema 2020-12, the dialect of OpenAPI 3.1, with ajv) and every described header is
 * present when required and matches its schema when present. Returns the problems, empty when the answer conforms.
 */
export class OpenApiChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });

  constructor(private readonly document: Document) {
    addFormats(this.ajv);
    this.ajv.addSchema(document as object, 'openapi.json');
  }

  /** Every `METHOD path status` the description lists, `default` left out (it stands for answers not listed). */
  described(): string[] {
    return Object.entries(this.document.paths).flatMap(([route, operations]) =>
      Object.entries(operations).flatMap(([method, operation]) =>
        Object.keys(operation.responses).filter((status) => status !== 'default').map((status) => `${method.toUpperCase()} ${route} ${status}`),
      ),
    );
  }

  problems(answer: Answer): string[] {
    const operation = this.document.paths[answer.path]?.[answer.method.toLowerCase()];
    if (!operation) return [`${answer.method} ${answer.path} is not described`];
    const status = String(answer.status);
    const key = operation.responses[status] ? status : undefined;
    if (!key) return [`${answer.method} ${answer.path} answered ${status}, which is not described`];
    const response = operation.responses[key] as Response;
    const at = ['#', 'paths', answer.path, answer.method.toLowerCase(), 'responses', key];
    const problems: string[] = [];
    const described = Object.keys(response.content ?? {});
    const mediaType = described.find((type) => answer.contentType.startsWith(type));
    // A response described without content (204) must come without a body.
    if (described.length === 0) {
      if (answer.contentType || answer.body) problems.push(`a body (${answer.contentType}) where none is described`);
    } else if (!mediaType) problems.push(`content type ${answer.contentType} is not described`);
    else if (mediaType === 'application/json') problems.push(...this.validate([...at, 'content', mediaType, 'schema'], answer.body, 'body'));
    for (const [name, header] of Object.entries(response.headers ?? {})) {
      const value = answer.headers.get(name);
      if (value === null) {
        if (header.required) problems.push(`header ${name} is missing`);
        continue;
      }
      problems.push(...this.validate([...at, 'headers', name, 'schema'], value, `header ${name}`));
    }
    return problems.map((problem) => `${answer.method} ${answer.path} ${status}: ${problem}`);
  }

  /** Whether a request body matches the operation's described request body. */
  requestProblems(method: string, route: string, body: unknown): string[] {
    return this.validate(['#', 'paths', route, method.toLowerCase(), 'requestBody', 'content', 'application/json', 'schema'], body, `${method} ${route} request`);
  }

  private validate(at: string[], value: unknown, what: string): string[] {
    const validate = this.ajv.getSchema(`openapi.json${pointer(...at)}`);
    if (!validate) return [`no schema at ${at.join('/')}`];
    return validate(value) ? [] : [`${what} ${JSON.stringify(value)} does not match: ${this.ajv.errorsText(validate.errors)}`];
  }
}
