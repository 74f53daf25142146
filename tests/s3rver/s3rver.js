// Local S3 server for the tests: @20minutes/s3rver verifies SigV4 signatures (the
// original s3rver does not).  Usage: node s3rver.js PORT DIRECTORY
// Access key S3RVER, secret S3RVER; bucket "resumego" exists at start.
'use strict';
const S3rver = require('@20minutes/s3rver');
const port = Number(process.argv[2] || 19000);
const directory = process.argv[3] || './s3-data';
new S3rver({
  address: '127.0.0.1',
  port,
  directory,
  silent: true,
  vhostBuckets: false,
  configureBuckets: [{ name: 'resumego' }],
})
  .run()
  .then(() => console.log(`s3rver listening on 127.0.0.1:${port}`))
  .catch((err) => { console.error(err); process.exit(1); });
process.on('SIGTERM', () => process.exit(0));
