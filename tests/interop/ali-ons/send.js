'use strict';
// A client nobody here wrote: ali-ons (the remoting protocol in JavaScript) sends COUNT messages
// to the name server at NAMESRV, CONCURRENCY at a time, plus one 10 KB (compressed) body, and
// prints one JSON line: what it saw. Usage: node send.js NAMESRV COUNT [CONCURRENCY]
const httpclient = require('urllib');
const { Producer, Message } = require('ali-ons');

const [namesrv, countArg, concArg] = process.argv.slice(2);
const count = parseInt(countArg || '1000', 10);
const concurrency = parseInt(concArg || '32', 10);
const topic = 'AliOnsInterop';

const producer = new Producer({
  httpclient,
  nameSrv: namesrv,
  // ali-ons signs every request (HmacSHA1 over the sorted header values and the body, as
  // RocketMQ's ACL 1.0); mqtui cluster checks it with --acl AK:SK and ignores it without.
  accessKeyId: process.env.ALI_ONS_ACCESS_KEY || 'interop',
  accessKeySecret: process.env.ALI_ONS_SECRET_KEY || 'interop',
  producerGroup: 'mqtui-interop-ali-ons',
});
producer.on('error', err => console.error('producer error:', err.message));

(async () => {
  await producer.ready();
  const places = new Set();
  const ids = new Set();
  const brokers = {};
  const errors = [];
  let ok = 0;
  let next = 0;
  const record = r => {
    if (r.sendStatus === 'SEND_OK') ok++;
    else errors.push('status ' + r.sendStatus);
    const mq = r.messageQueue;
    places.add(`${mq.brokerName}/${mq.queueId}/${r.queueOffset}`);
    if (/^[0-9A-F]{32}$/.test(r.msgId)) ids.add(r.msgId);
    brokers[mq.brokerName] = (brokers[mq.brokerName] || 0) + 1;
  };
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const msg = new Message(topic, 'TagA', `ali-ons message ${i}`);
      msg.keys = [`key-${i}`];
      try {
        record(await producer.send(msg));
      } catch (e) {
        errors.push(e.message);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  let big = null;
  try {
    const r = await producer.send(new Message(topic, 'TagB', 'x'.repeat(10 * 1024)));
    big = r.sendStatus;
  } catch (e) {
    big = 'error: ' + e.message;
  }
  console.log(JSON.stringify({
    count, ok, failed: errors.length, distinct_places: places.size, distinct_offset_ids: ids.size,
    brokers, big, errors: errors.slice(0, 5),
  }));
  // Closing unregisters the client; with a refused signature that fails too: not this test's news.
  await producer.close().catch(e => console.error('close:', e.message));
  process.exit(0);
})().catch(err => {
  console.error('fatal:', err);
  process.exit(1);
});
