import { parsePhoneNumberFromString, type NumberType } from 'libphonenumber-js/max';
import type { ValidationDetail } from '../shared/messages/schemas';

export interface SmsPolicyOptions {
  /** ISO 3166 alpha-2 regions a message may go to (SMS_ALLOWED_COUNTRIES). */
  allowedCountries: readonly string[];
  /** Number types accepted when the metadata can tell (SMS_ALLOWED_NUMBER_TYPES). */
  allowedTypes: readonly string[];
  /** E.164 prefixes accepted whatever their country or type (SMS_ALLOW_NUMBER_PREFIXES): the sandbox's test range. */
  allowedPrefixes: readonly string[];
}

/**
 * SMS-pumping defences on the destination: the number is parsed with libphonenumber-js's full ("max") metadata,
 * which knows the numbering plan of every region well enough to tell mobile from fixed-line, premium-rate,
 * shared-cost, toll-free, personal, pager, UAN and voicemail ranges. Refused: numbers the plan says do not exist,
 * regions outside the allow-list, and types outside the allowed ones. Where the plan cannot tell (US and Canada
 * share ranges between fixed and mobile: FIXED_LINE_OR_MOBILE; or no type known), the number is accepted: the
 * provider's own checks and the per-recipient limit are the next line.
 * Returns the refusal as a validation detail, or undefined when the number may be sent to.
 */
export function checkSmsDestination(to: string, options: SmsPolicyOptions): ValidationDetail | undefined {
  if (options.allowedPrefixes.some((prefix) => to.startsWith(prefix))) return undefined;
  const number = parsePhoneNumberFromString(to);
  if (!number || !number.isValid()) {
    return { field: 'to', code: 'number_invalid', message: 'not a number in use in any numbering plan' };
  }
  const country = number.country;
  if (!country || !options.allowedCountries.includes(country)) {
    return { field: 'to', code: 'country_not_allowed', message: `SMS to ${country ?? `+${number.countryCallingCode}`} is not enabled` };
  }
  const type: NumberType = number.getType();
  if (type !== undefined && !options.allowedTypes.includes(type)) {
    return { field: 'to', code: 'number_type_not_allowed', message: `SMS to ${type.toLowerCase().replace(/_/g, '-')} numbers is not allowed` };
  }
  return undefined;
}
