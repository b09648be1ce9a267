import type { Etcd3 } from 'etcd3';

/** Whether a write through this client is accepted: `accepted`, or `refused: <why>`. Closes the client. */
export async function putOutcome(client: Etcd3, key: string, value = 'x'): Promise<string> {
  try {
    await client.put(key).value(value);
    return 'accepted';
  } catch (e) {
    return `refused: ${(e as Error).message}`;
  } finally {
    client.close();
  }
}
