/** The serf members as the state setter reads them each round: one RPC connection to the local agent, closed after. */
import type { MemberView } from './decide-states.js';
import { SerfClient, type SerfClientOptions } from '../lib/serf-rpc.js';

export async function serfMembers(agent: SerfClientOptions): Promise<MemberView[]> {
  const client = await SerfClient.connect({ timeoutMs: 5000, ...agent });
  try {
    return (await client.members()).map((member) => ({ name: member.name, status: member.status, tags: member.tags }));
  } finally {
    await client.close();
  }
}
