// Health checks of the configuration (spec §7.3): the checker kinds keepalived has (TCP_CHECK,
// HTTP_GET, SSL_GET, UDP_CHECK, DNS_CHECK, SMTP_CHECK, MISC_CHECK) and the health settings that
// cascade from a service to its real servers, plus the program spec notify scripts share.
import { z } from 'zod';
import { U32_MAX, bool, intIn, ipText, nonZeroPort, oneOf, secondsIn, text } from './schema-values.js';

/** Health checker types (spec §7.3). */
export const CHECK_TYPES = ['tcp', 'http', 'https', 'udp', 'dns', 'smtp', 'exec'] as const;
/** DNS_CHECK query types (spec §7.3). */
export const DNS_TYPES = ['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA'] as const;

/** A program to run: argv (no shell) and the user to run it as. */
export const scriptSchema = z.object({
  /** argv[0] is the program, the rest its arguments (no shell is involved). */
  command: z.array(text(), { invalid_type_error: 'must be a list of strings', required_error: 'is required' }).min(1, 'must name a program'),
  /** `user` or `user:group` (default: the daemon's user). */
  user: text().optional(),
}).strict();

/** Timing options every checker has; unset ones cascade from the real server, then the service. */
const checkTiming = {
  delayLoop: secondsIn(0.001, 86400).optional(),
  retry: intIn(0, 1000).optional(),
  delayBeforeRetry: secondsIn(0, 86400).optional(),
  warmup: secondsIn(0, 86400).optional(),
  alpha: bool().optional(),
  logAllFailures: bool().default(false),
};
/** Connection options of the network checkers. */
const checkConnection = {
  ...checkTiming,
  connectTimeout: secondsIn(0.001, 3600).optional(),
  /** Address to check (default: the real server's). */
  connectIp: ipText().optional(),
  /** Port to check (default: the real server's). */
  connectPort: nonZeroPort().optional(),
  bindTo: ipText().optional(),
  bindPort: nonZeroPort().optional(),
  bindInterface: text().optional(),
  /** Firewall mark set on the checker's packets. */
  fwmark: intIn(1, U32_MAX).optional(),
};

const statusCode = z.union([
  intIn(100, 599),
  z.string().regex(/^[1-5][0-9]{2}-[1-5][0-9]{2}$/),
], { errorMap: () => ({ message: 'must be a status code 100..599 or a range like "200-299"' }) });

/** One URL of an http/https check: all must pass. */
export const urlSchema = z.object({
  path: text().refine((s) => s.startsWith('/'), 'must start with /'),
  /** Accepted statuses; default 200-299. */
  statusCodes: z.array(statusCode, { invalid_type_error: 'must be a list of status codes' }).min(1, 'must not be empty').optional(),
  /** MD5 of the body, hex (keepalived's genhash). */
  digest: z.string({ invalid_type_error: 'must be a string' }).regex(/^[0-9a-fA-F]{32}$/, 'must be 32 hex digits (an MD5 digest)').optional(),
  /** Host header (default: the check's, then the real server's, then the service's virtualhost). */
  virtualhost: text().optional(),
  /** Regular expression the body must match (JavaScript syntax). */
  regex: text().optional(),
  /** Fail when the regex matches instead. */
  regexNoMatch: bool().default(false),
}).strict();

const httpOptions = {
  ...checkConnection,
  urls: z.array(urlSchema, { invalid_type_error: 'must be a list of urls', required_error: 'is required' }).min(1, 'must list at least one url'),
  httpProtocol: oneOf(['1.0', '1.0C', '1.1'] as const).default('1.0'),
  virtualhost: text().optional(),
  /** Check all URLs back to back (no delay between them) when recovering. */
  fastRecovery: bool().default(false),
};

const tcpCheckSchema = z.object({ type: z.literal('tcp'), ...checkConnection }).strict();
const httpCheckSchema = z.object({ type: z.literal('http'), ...httpOptions }).strict();
const httpsCheckSchema = z.object({
  type: z.literal('https'),
  ...httpOptions,
  enableSni: bool().default(false),
  sniName: text().optional(),
  tlsCompliant: bool().default(false),
}).strict();
const hexText = () => z.string({ invalid_type_error: 'must be a hex string' }).regex(/^[0-9a-fA-F ]+$/, 'must be hex digits');
const udpCheckSchema = z.object({
  type: z.literal('udp'),
  ...checkConnection,
  /** Hex payload to send (default: random). */
  payload: hexText().optional(),
  /** Require a reply (true), or a reply starting with these hex bytes (x = any nibble). */
  requireReply: z.union([z.boolean(), z.string().regex(/^[0-9a-fA-FxX ]+$/)], { errorMap: () => ({ message: 'must be true, false or hex digits' }) }).default(false),
  minReplyLength: intIn(0, 65535).default(0),
  maxReplyLength: intIn(0, 65535).default(255),
}).strict();
const dnsCheckSchema = z.object({
  type: z.literal('dns'),
  ...checkConnection,
  queryType: oneOf(DNS_TYPES).default('SOA'),
  name: text().default('.'),
}).strict();
const smtpCheckSchema = z.object({
  type: z.literal('smtp'),
  ...checkConnection,
  heloName: text().default('smtpchecker.keepalived.org'),
}).strict();
const execCheckSchema = z.object({
  type: z.literal('exec'),
  ...checkTiming,
  /** argv of the program: exit 0 = up, 1 = down (with dynamic, 2..255 = up with weight status-2). */
  command: z.array(text(), { invalid_type_error: 'must be a list of strings', required_error: 'is required' }).min(1, 'must name a program'),
  /** Kill the program after this many seconds (default: the delay loop). */
  timeout: secondsIn(0.001, 86400).optional(),
  dynamic: bool().default(false),
  user: text().optional(),
}).strict();

export const checkSchema = z.discriminatedUnion('type', [
  tcpCheckSchema, httpCheckSchema, httpsCheckSchema, udpCheckSchema, dnsCheckSchema, smtpCheckSchema, execCheckSchema,
], { errorMap: (issue, ctx) => issue.code === 'invalid_union_discriminator'
  ? { message: `must be one of ${CHECK_TYPES.join(', ')}` } : { message: ctx.defaultError } });

/** Health settings of a real server; unset ones come from the service. */
export const rsHealthSchema = z.object({
  delayLoop: secondsIn(0.001, 86400).optional(),
  connectTimeout: secondsIn(0.001, 3600).optional(),
  retry: intIn(0, 1000).optional(),
  delayBeforeRetry: secondsIn(0, 86400).optional(),
  warmup: secondsIn(0, 86400).optional(),
  alpha: bool().optional(),
  inhibitOnFailure: bool().optional(),
  virtualhost: text().optional(),
}).strict();

/** Health defaults of a service (keepalived's virtual_server level, spec §7.1). */
export const serviceHealthSchema = z.object({
  delayLoop: secondsIn(0.001, 86400).default(60),
  connectTimeout: secondsIn(0.001, 3600).default(5),
  /** Unset: each checker's own default (1; exec 0; dns 3). */
  retry: intIn(0, 1000).optional(),
  /** Unset: each checker's own default (1 s; http/https 3 s; dns the delay loop). */
  delayBeforeRetry: secondsIn(0, 86400).optional(),
  /** Random initial delay up to this (unset: up to the delay loop; 0 = none). */
  warmup: secondsIn(0, 86400).optional(),
  /** Start with real servers down until their first successful check. */
  alpha: bool().default(false),
  /** Run down notifications when the daemon stops. */
  omega: bool().default(false),
  /** On failure set weight 0 instead of removing the real server. */
  inhibitOnFailure: bool().default(false),
  /** Suspend checks while the VIP is not a local address. */
  haSuspend: bool().default(false),
  virtualhost: text().optional(),
}).strict();
