// The packet data plane as the daemon runs it (AF_PACKET, Linux, root).
import type { DataPlane, DataPlaneContext } from './dataplanes.js';

export async function startPacketDataPlane(ctx: DataPlaneContext): Promise<DataPlane> {
  void ctx;
  throw new Error('the packet data plane is not available in this build yet');
}
