// sigv4.mjs drives the official AWS SDK PutEvents client against a tracker
// that requires AWS Signature Version 4, once correctly signed and once per
// way a signature can fail, and prints one JSON line per call like
// putevents.mjs. server/http/awssdk_test.go runs it.
//
// Usage: node sigv4.mjs <collector URL> <trackingId> <accessKeyId> <secretAccessKey>
import {
  PersonalizeEventsClient,
  PutEventsCommand,
} from "@aws-sdk/client-personalize-events";
import { report } from "./report.mjs";

const [url, trackingId, accessKeyId, secretAccessKey] = process.argv.slice(2);
if (!secretAccessKey) {
  console.error("usage: node sigv4.mjs <collector URL> <trackingId> <accessKeyId> <secretAccessKey>");
  process.exit(2);
}

const good = { accessKeyId, secretAccessKey };
const event = (id) => ({ eventId: id, eventType: "Purchase", itemId: "sku-1", sentAt: new Date(1714979289123) });

const calls = [
  // name, client options, eventId
  ["signed", { credentials: good }, "sigv4-ok"],
  ["wrong-secret", { credentials: { accessKeyId, secretAccessKey: secretAccessKey + "x" } }, "sigv4-wrong"],
  ["unknown-key", { credentials: { accessKeyId: "AKIDNOTTHISTRACKERS", secretAccessKey } }, "sigv4-unknown"],
  // The SDK signs with its clock plus systemClockOffset: ten minutes back
  // is outside the five minutes AWS allows.
  ["stale-date", { credentials: good, systemClockOffset: -10 * 60 * 1000 }, "sigv4-stale"],
  // A signer that signs nothing: the request goes without Authorization.
  ["missing-auth", { credentials: good, signer: { sign: async (request) => request } }, "sigv4-missing"],
];

for (const [call, options, eventId] of calls) {
  const c = new PersonalizeEventsClient({ endpoint: url, region: "eu-west-1", maxAttempts: 1, ...options });
  await report(call, c, new PutEventsCommand({ trackingId, sessionId: "sigv4-sess", eventList: [event(eventId)] }));
}
