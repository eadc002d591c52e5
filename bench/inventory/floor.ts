/**
 * The floor for a search answer in bench/inventory: a bare node:http server
 * that sends one file's bytes, read once into memory, as the answer to every
 * request. Timed by the same probe, it shows what this machine's loopback and
 * Node.js cost for those bytes, so that Yagura's figure can be read against it.
 *   node --import tsx bench/inventory/floor.ts FILE    prints its port, serves until killed
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const body = readFileSync(process.argv[2]!);
const server = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  response.end(body);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
