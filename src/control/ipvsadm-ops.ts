// ipvsadm commands that change the table, as the Director's table operations.
import type { Command } from '../cli/ipvsadm/command.js';
import type { TableOp } from './director-api.js';

/** The operations a command performs, or undefined for commands that only read (or do other things). */
export function commandToOps(cmd: Command): TableOp[] | undefined {
  switch (cmd.kind) {
    case 'add-service': return [{ op: 'add-service', service: cmd.service }];
    case 'edit-service': return [{ op: 'edit-service', service: cmd.service }];
    case 'delete-service': return [{ op: 'delete-service', key: cmd.key }];
    case 'flush': return [{ op: 'flush' }];
    case 'zero': return [{ op: 'zero', key: cmd.key }];
    case 'add-server': return [{ op: 'add-dest', key: cmd.key, dest: cmd.dest }];
    case 'edit-server': return [{ op: 'edit-dest', key: cmd.key, dest: cmd.dest }];
    case 'delete-server': return [{ op: 'delete-dest', key: cmd.key, addr: cmd.addr, port: cmd.port }];
    case 'set': return [{ op: 'set-timeouts', tcp: cmd.timeouts.tcp, tcpfin: cmd.timeouts.tcpfin, udp: cmd.timeouts.udp }];
    default: return undefined;
  }
}
