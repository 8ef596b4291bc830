import { z } from 'zod';
import { ConfigError } from '../config/load-config';
import type { MessageType } from '../messaging/topology';
import type { Provider } from '../worker/provider';

export interface NamedProvider<T extends MessageType> {
  name: string;
  provider: Provider<T>;
}

export interface ProviderListSpec<T extends MessageType> {
  /** The env var listing the providers in failover order: `SMS_PROVIDERS=primary,backup`. */
  listVar: string;
  /** Prefix of every provider name and of the single provider's name when none are listed: `twilio`. */
  kind: string;
  /** The provider's own env vars (its config schema's keys). */
  keys: readonly string[];
  /** The one a listed provider after the first must set itself (which account, which server). */
  identityVar: string;
  /** Builds one provider from env vars under their usual names. */
  create: (env: NodeJS.ProcessEnv) => Provider<T>;
  /** True when a provider's variables (under their usual names) point at the sandbox. */
  isSandbox: (env: NodeJS.ProcessEnv) => boolean;
}

const nameList = z
  .string()
  .transform((value) => value.split(',').map((part) => part.trim()).filter((part) => part !== ''))
  .pipe(
    z
      .array(z.string().regex(/^[a-z][a-z0-9]{0,19}$/, 'provider names are lower-case letters and digits, starting with a letter, at most 20'))
      .min(1)
      .max(5)
      .refine((names) => new Set(names).size === names.length, 'provider names must be unique'),
  );

/** `TWILIO_ACCOUNT_SID` for provider `backup` is read from `TWILIO_BACKUP_ACCOUNT_SID`: the name after the first word. */
export function providerVar(key: string, name: string): string {
  const [head, ...rest] = key.split('_');
  return [head, name.toUpperCase(), ...rest].join('_');
}

/**
 * The providers of one channel, in failover order. Without the list variable: one provider named `kind` from the
 * usual variables, as before failover existed. With `SMS_PROVIDERS=primary,backup`: providers `twilio-primary` and
 * `twilio-backup`; each reads its variables with its name inserted (`TWILIO_BACKUP_ACCOUNT_SID`), and a variable it
 * does not set is the unprefixed one (shared settings: timeouts, sender). The first provider may therefore keep the
 * unprefixed variables; every other must set its own `identityVar`, so a typo cannot silently send the backup's
 * traffic through the primary's account. Errors name the variable and fail the worker at start.
 */
export function configuredProviders<T extends MessageType>(env: NodeJS.ProcessEnv, spec: ProviderListSpec<T>): NamedProvider<T>[] {
  const listed = env[spec.listVar];
  if (listed === undefined || listed.trim() === '') return [{ name: spec.kind, provider: spec.create(env) }];
  const names = nameList.safeParse(listed);
  if (!names.success) {
    throw new ConfigError(`invalid configuration: ${spec.listVar}: ${names.error.issues.map((issue) => issue.message).join('; ')}`);
  }
  const listedProviders = names.data.map((name, index) => {
    const own: NodeJS.ProcessEnv = { ...env };
    for (const key of spec.keys) {
      const value = env[providerVar(key, name)];
      if (value !== undefined) own[key] = value;
      else if (key === spec.identityVar && index > 0) {
        throw new ConfigError(`invalid configuration: ${providerVar(key, name)}: required for provider "${name}" listed in ${spec.listVar} (only the first provider may use ${key})`);
      }
    }
    return { name, label: `${spec.kind}-${name}`, own };
  });
  refuseSandboxBesideRealProviders(spec, listedProviders);
  return listedProviders.map(({ name, label, own }) => {
    try {
      return { name: label, provider: spec.create(own) };
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      throw new ConfigError(`provider "${label}" listed in ${spec.listVar} (its variables carry ${name.toUpperCase()} after the first word, e.g. ${providerVar(spec.identityVar, name)}): ${error.message}`);
    }
  });
}

/**
 * A list that pairs a real provider with the sandbox would fail real traffic over into the sandbox, which accepts
 * and keeps it: messages reported sent that nobody receives. The defaults pair the sandbox's two personalities, so
 * pointing only the first provider at a real server is the easy mistake; the worker refuses to start instead.
 */
function refuseSandboxBesideRealProviders<T extends MessageType>(spec: ProviderListSpec<T>, listed: ReadonlyArray<{ label: string; own: NodeJS.ProcessEnv }>): void {
  const sandbox: string[] = [];
  const real: string[] = [];
  for (const { label, own } of listed) (spec.isSandbox(own) ? sandbox : real).push(label);
  if (sandbox.length === 0 || real.length === 0) return;
  throw new ConfigError(
    `invalid configuration: ${spec.listVar}: ${sandbox.map((label) => `"${label}"`).join(', ')} point${sandbox.length === 1 ? 's' : ''} at the sandbox ` +
      `and ${real.map((label) => `"${label}"`).join(', ')} at a real provider: what fails over would land in the sandbox. ` +
      `List providers of your own (docs/failover.md), or set ${spec.listVar}= (empty) for one provider.`,
  );
}
