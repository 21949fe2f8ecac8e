#!/usr/bin/env node
// The reference tus server for bench/ingest: @tus/server with its FileStore, as its README sets it
// up. Note for the comparison: FileStore acknowledges a PATCH once the bytes are written to the
// page cache (no fsync); recorder-server acknowledges only after fdatasync.
//
//   node bench/ingest/reference-server.mjs --port N --dir DIR
import { parseArgs } from 'node:util';

import { FileStore } from '@tus/file-store';
import { Server } from '@tus/server';

const { values: opt } = parseArgs({
  options: { port: { type: 'string' }, dir: { type: 'string' } },
});
const server = new Server({ path: '/files', datastore: new FileStore({ directory: opt.dir }) });
server.listen({ host: '127.0.0.1', port: Number(opt.port) }, () => {
  console.log(`listening on ${opt.port}`);
});
