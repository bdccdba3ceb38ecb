#!/usr/bin/env node
// tus_client.js: drive the upload endpoint with the unmodified tus-js-client
// (pinned in package.json) for the integration tests.
//
//   node tus_client.js full   BASE KEY FILE CHUNK            upload, print the upload URL
//   node tus_client.js resume BASE KEY FILE CHUNK STOP_AFTER upload STOP_AFTER chunks, abort
//                                                           (connection gone), then resume
//                                                           from the server's offset with a new
//                                                           client; print URL and resume offset
// Output: one JSON line {"url", "resumed_from", "chunks"} ; exit 1 on error.
'use strict';
const fs = require('fs');
const tus = require('tus-js-client');

const [mode, base, key, file, chunkArg, stopArg] = process.argv.slice(2);
const data = fs.readFileSync(file);
const chunkSize = parseInt(chunkArg, 10);

function start(opts) {
  return new Promise((resolve, reject) => {
    let chunks = 0;
    const up = new tus.Upload(data, Object.assign({
      endpoint: base + '/api/v1/ingest/uploads/',
      headers: { Authorization: 'Bearer ' + key },
      chunkSize,
      retryDelays: [0, 200, 500, 1000],
      metadata: { filename: file.split('/').pop(), filetype: 'application/x-ndjson' },
      onError: reject,
      onSuccess: () => resolve({ url: up.url, chunks }),
      onChunkComplete: () => {
        chunks++;
        if (opts.stopAfter && chunks === opts.stopAfter) {
          up.abort(false).then(() => resolve({ url: up.url, chunks, aborted: true }), reject);
        }
      },
    }, opts.tus || {}));
    up.start();
  });
}

async function main() {
  if (mode === 'full') {
    const r = await start({});
    console.log(JSON.stringify({ url: r.url, resumed_from: 0, chunks: r.chunks }));
    return;
  }
  if (mode === 'resume') {
    const first = await start({ stopAfter: parseInt(stopArg, 10) });
    // A new client that only knows the upload URL: it asks for the offset (HEAD) and goes on.
    let resumedFrom = -1;
    const second = await start({
      tus: {
        uploadUrl: first.url,
        onAfterResponse: (req, res) => {
          if (req.getMethod() === 'HEAD' && resumedFrom < 0)
            resumedFrom = parseInt(res.getHeader('Upload-Offset'), 10);
        },
      },
    });
    console.log(JSON.stringify({ url: second.url, resumed_from: resumedFrom, chunks: first.chunks + second.chunks }));
    return;
  }
  throw new Error('unknown mode ' + mode);
}

main().catch((e) => { console.error(String(e && e.stack || e)); process.exit(1); });
