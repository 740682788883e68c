// What a parsed ipvsadm command line means: the typed Command the control plane applies, and the
// usage error ipvsadm would print instead (spec §5.1, §5.2).
import type { IpAddress } from '../../core/net/addr.js';
import type { DestConfig, ServiceConfig, ServiceKey } from '../../core/service/types.js';
import type { Timeouts } from './views.js';

/** How `-L` should print. The format flags combine as in ipvsadm (stats > rate > thresholds > ...). */
export interface ListOptions {
  /** What to list: the service table, the connection entries, the timeouts or the sync daemons. */
  readonly view: 'services' | 'connections' | 'timeout' | 'daemon';
  /** `-L -t/-u/-f svc`: one service, printed without the version line. */
  readonly service?: ServiceKey;
  readonly numeric: boolean;
  readonly exact: boolean;
  readonly nosort: boolean;
  readonly stats: boolean;
  readonly rate: boolean;
  readonly thresholds: boolean;
  readonly persistentConn: boolean;
  readonly tunInfo: boolean;
}

/** `--start-daemon` settings; undefined fields were not given (the kernel applies its defaults). */
export interface DaemonConfig {
  readonly state: 'master' | 'backup';
  /** `--mcast-interface` (default eth0, at most 15 characters). */
  readonly mcastIfn: string;
  /** `--syncid` 0..255; ipvsadm passes 0 when it is not given (spec §5.2). */
  readonly syncId: number;
  readonly syncMaxlen?: number;
  readonly mcastGroup?: IpAddress;
  readonly mcastPort?: number;
  readonly mcastTtl?: number;
}

/** A parsed command line. */
export type Command =
  | { readonly kind: 'add-service' | 'edit-service'; readonly service: ServiceConfig }
  | { readonly kind: 'delete-service'; readonly key: ServiceKey }
  | { readonly kind: 'flush' }
  | { readonly kind: 'zero'; readonly key?: ServiceKey }
  | { readonly kind: 'add-server' | 'edit-server'; readonly key: ServiceKey; readonly dest: DestConfig }
  | { readonly kind: 'delete-server'; readonly key: ServiceKey; readonly addr: IpAddress; readonly port: number }
  | { readonly kind: 'list'; readonly list: ListOptions }
  | { readonly kind: 'save'; readonly numeric: boolean }
  | { readonly kind: 'restore' }
  /** `--set tcp tcpfin udp`; 0 leaves a timeout unchanged. */
  | { readonly kind: 'set'; readonly timeouts: Timeouts }
  | { readonly kind: 'start-daemon'; readonly daemon: DaemonConfig }
  | { readonly kind: 'stop-daemon'; readonly state: 'master' | 'backup' }
  /** `-h`: print the usage text to stdout, exit 0. */
  | { readonly kind: 'help' }
  /** `-v`: print the version line to stdout, exit 0. */
  | { readonly kind: 'version' };

/**
 * Why ipvsadm would refuse a command line:
 * - 'fail': fail(2, ...) — the message, exit 2;
 * - 'tryhelp': "Try `ipvsadm -h' or 'ipvsadm --help' for more information.", exit 255;
 * - 'popt': popt's "<option>: <reason>", exit 255.
 */
export interface UsageError {
  readonly kind: 'fail' | 'tryhelp' | 'popt';
  /** The text without the program name or trailing newline (empty for 'tryhelp'). */
  readonly message: string;
  readonly exitCode: 2 | 255;
}

/** The result of parsing: a command, or the error ipvsadm would print. */
export type ParseResult = { readonly ok: true; readonly command: Command } | { readonly ok: false; readonly error: UsageError };
