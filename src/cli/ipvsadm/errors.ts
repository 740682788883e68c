// What ipvsadm prints when something fails, and its exit status (spec §5.2): libipvs's
// ipvs_strerror maps the kernel's errno per operation to a message (falling back to strerror), and
// usage errors are printed by fail() / tryhelp_exit() / popt.
import type { TsvsErrno } from '../../core/errors.js';
import type { UsageError } from './command.js';

/** The libipvs operation that failed (ipvs_func at the time of the error). */
export type IpvsOp =
  | 'add-service' | 'edit-service' | 'delete-service' | 'zero' | 'flush'
  | 'add-server' | 'edit-server' | 'delete-server'
  | 'set' | 'start-daemon' | 'stop-daemon'
  | 'get-services' | 'get-dests' | 'get-service' | 'get-timeout' | 'get-daemon';

/** Every errno ipvs_strerror knows, plus the core's TsvsErrno values. */
export type Errno = TsvsErrno | 'ENOPROTOOPT' | 'EOPNOTSUPP' | 'EMSGSIZE';

/** ipvs_strerror's table, in its order: operation-specific rows first, then generic ones (op undefined). */
const STRERROR_TABLE: readonly { op?: IpvsOp; errno: Errno; message: string }[] = [
  { op: 'add-service', errno: 'EEXIST', message: 'Service already exists' },
  { op: 'add-service', errno: 'ENOENT', message: 'Scheduler or persistence engine not found' },
  { op: 'edit-service', errno: 'ESRCH', message: 'No such service' },
  { op: 'edit-service', errno: 'ENOENT', message: 'Scheduler or persistence engine not found' },
  { op: 'delete-service', errno: 'ESRCH', message: 'No such service' },
  { op: 'zero', errno: 'ESRCH', message: 'No such service' },
  { op: 'add-server', errno: 'ESRCH', message: 'Service not defined' },
  { op: 'add-server', errno: 'EEXIST', message: 'Destination already exists' },
  { op: 'edit-server', errno: 'ESRCH', message: 'Service not defined' },
  { op: 'edit-server', errno: 'ENOENT', message: 'No such destination' },
  { op: 'delete-server', errno: 'ESRCH', message: 'Service not defined' },
  { op: 'delete-server', errno: 'ENOENT', message: 'No such destination' },
  { op: 'start-daemon', errno: 'EEXIST', message: 'Daemon has already run' },
  { op: 'stop-daemon', errno: 'ESRCH', message: 'No daemon is running' },
  { op: 'get-services', errno: 'ESRCH', message: 'No such service' },
  { op: 'get-dests', errno: 'ESRCH', message: 'No such service' },
  { op: 'get-service', errno: 'ESRCH', message: 'No such service' },
  { errno: 'EPERM', message: 'Permission denied (you must be root)' },
  { errno: 'EINVAL', message: 'Invalid operation.  Possibly wrong module version, address not unicast, ...' },
  { errno: 'ENOPROTOOPT', message: 'Protocol not available' },
  { errno: 'ENOMEM', message: 'Memory allocation problem' },
  { errno: 'EOPNOTSUPP', message: 'Operation not supported with IPv6' },
  { errno: 'EAFNOSUPPORT', message: 'Operation not supported with specified address family' },
  { errno: 'EMSGSIZE', message: 'Module is wrong version' },
];

/** glibc strerror() for the errnos that can fall through the table. */
const STRERROR: Readonly<Record<Errno, string>> = {
  EEXIST: 'File exists',
  ESRCH: 'No such process',
  ENOENT: 'No such file or directory',
  EINVAL: 'Invalid argument',
  ERANGE: 'Numerical result out of range',
  EAFNOSUPPORT: 'Address family not supported by protocol',
  ENOMEM: 'Cannot allocate memory',
  EPERM: 'Operation not permitted',
  ENOPROTOOPT: 'Protocol not available',
  EOPNOTSUPP: 'Operation not supported',
  EMSGSIZE: 'Message too long',
};

/** ipvs_strerror(errno) after `op` failed: the message ipvsadm prints on stderr. */
export function ipvsStrerror(op: IpvsOp, errno: Errno): string {
  const row = STRERROR_TABLE.find((r) => (r.op === undefined || r.op === op) && r.errno === errno);
  return row ? row.message : STRERROR[errno];
}

/** Usage errors (fail(2, ...)) exit 2. */
export const EXIT_USAGE = 2;
/** A failed table operation, tryhelp and popt errors: ipvsadm returns -1 from main, i.e. 255. */
export const EXIT_FAILURE = 255;
/** Listing errors (unknown service for `-L -t`, unreadable connection table) exit 1. */
export const EXIT_LIST_ERROR = 1;

/** The stderr text of a usage error, with its trailing newline; `program` is argv[0]. */
export function usageErrorText(err: UsageError, program = 'ipvsadm'): string {
  switch (err.kind) {
    case 'tryhelp': return `Try \`${program} -h' or '${program} --help' for more information.\n`;
    case 'popt':
    case 'fail': return `${err.message}\n`;
  }
}
