import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Errno, type IpvsOp, ipvsStrerror } from './errors.js';

// (operation, errno) → what ipvsadm prints (libipvs ipvs_strerror; spec §5.2).
const CASES: [IpvsOp, Errno, string][] = [
  ['add-service', 'EEXIST', 'Service already exists'],
  ['add-service', 'ENOENT', 'Scheduler or persistence engine not found'],
  ['edit-service', 'ESRCH', 'No such service'],
  ['edit-service', 'ENOENT', 'Scheduler or persistence engine not found'],
  ['delete-service', 'ESRCH', 'No such service'],
  ['zero', 'ESRCH', 'No such service'],
  ['add-server', 'ESRCH', 'Service not defined'],
  ['add-server', 'EEXIST', 'Destination already exists'],
  ['edit-server', 'ESRCH', 'Service not defined'],
  ['edit-server', 'ENOENT', 'No such destination'],
  ['delete-server', 'ESRCH', 'Service not defined'],
  ['delete-server', 'ENOENT', 'No such destination'],
  ['start-daemon', 'EEXIST', 'Daemon has already run'],
  ['stop-daemon', 'ESRCH', 'No daemon is running'],
  ['get-service', 'ESRCH', 'No such service'],
  ['add-service', 'EPERM', 'Permission denied (you must be root)'],
  ['add-server', 'EINVAL', 'Invalid operation.  Possibly wrong module version, address not unicast, ...'],
  ['set', 'ENOMEM', 'Memory allocation problem'],
  ['add-server', 'EAFNOSUPPORT', 'Operation not supported with specified address family'],
  ['flush', 'ENOPROTOOPT', 'Protocol not available'],
  ['get-services', 'EMSGSIZE', 'Module is wrong version'],
  // Not in the table for that operation: strerror().
  ['add-server', 'ERANGE', 'Numerical result out of range'],
  ['delete-service', 'ENOENT', 'No such file or directory'],
  ['add-server', 'ENOENT', 'No such file or directory'],
  ['edit-server', 'EEXIST', 'File exists'],
  ['stop-daemon', 'EEXIST', 'File exists'],
  ['start-daemon', 'ESRCH', 'No such process'],
];

describe('ipvs_strerror: errno per operation (spec §5.2)', () => {
  for (const [op, errno, text] of CASES) {
    it(`${op} ${errno} → "${text}"`, () => assert.equal(ipvsStrerror(op, errno), text));
  }
});
