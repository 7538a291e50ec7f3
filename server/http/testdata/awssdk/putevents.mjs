// putevents.mjs drives the official AWS SDK PutEvents client against a
// collector, unchanged but for its endpoint, and prints one JSON line per
// call: {"call", "ok": true} or {"call", "ok": false, "name", "message",
// "status"}. server/http/awssdk_test.go runs it and checks both the lines
// and what the collector stored.
//
// Usage: node putevents.mjs <collector URL> <trackingId>
import {
  PersonalizeEventsClient,
  PutEventsCommand,
} from "@aws-sdk/client-personalize-events";
import { report } from "./report.mjs";

const [url, trackingId] = process.argv.slice(2);
if (!url || !trackingId) {
  console.error("usage: node putevents.mjs <collector URL> <trackingId>");
  process.exit(2);
}

function client(endpoint) {
  return new PersonalizeEventsClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDTRACKLETTEST", secretAccessKey: "not-a-secret" },
    // One attempt: none of these calls should be retried, and a retried 4xx
    // would hide a wrong status behind the SDK's backoff.
    maxAttempts: 1,
  });
}

// Every member of PutEvents, with values the test checks column by column.
const fullEvent = {
  eventId: "sdk-ev-1",
  eventType: "MovieRating",
  eventValue: 4.5,
  itemId: "movie2",
  impression: ["movie1", "movie2", "movie3"],
  recommendationId: "rec-9",
  metricAttribution: { eventAttributionSource: "home-carousel" },
  properties: JSON.stringify({ itemId: "movie2", numberOfRatings: "12" }),
  sentAt: new Date(1714979289123),
};
const slashEvent = { ...fullEvent, eventId: "sdk-ev-slash", sentAt: new Date(1714979290000) };
const baseEvent = { ...fullEvent, eventId: "sdk-ev-base", sentAt: new Date(1714979291500) };
const plain = (i) => ({ eventType: "View", sentAt: new Date(1714979289000 + i) });

const calls = [
  // endpoint, name, input
  [url, "valid", { trackingId, sessionId: "sdk-sess", userId: "sdk-user", eventList: [fullEvent] }],
  [url, "retry", { trackingId, sessionId: "sdk-sess", userId: "sdk-user", eventList: [fullEvent] }],
  // A trailing slash: on a bare host the SDK still posts to /events, but
  // under a base path it posts to /base//events.
  [url + "/", "trailing-slash", { trackingId, sessionId: "sdk-sess", userId: "sdk-user", eventList: [slashEvent] }],
  [url + "/base/", "base-trailing-slash", { trackingId, sessionId: "sdk-sess", userId: "sdk-user", eventList: [baseEvent] }],
  [url, "empty-eventType", { trackingId, sessionId: "sdk-sess", eventList: [{ ...plain(0), eventType: "" }] }],
  [url, "11-events", { trackingId, sessionId: "sdk-sess", eventList: Array.from({ length: 11 }, (_, i) => plain(i)) }],
  [url, "long-properties", {
    trackingId, sessionId: "sdk-sess",
    eventList: [{ ...plain(0), properties: JSON.stringify({ note: "x".repeat(2000 - `{"note":""}`.length) }) }],
  }],
  [url, "unknown-trackingId", { trackingId: "no-such-tracker", sessionId: "sdk-sess", eventList: [plain(0)] }],
];

for (const [endpoint, call, input] of calls) {
  if (call === "long-properties" && input.eventList[0].properties.length !== 2000) {
    throw new Error("long-properties is not 2000 characters");
  }
  await report(call, client(endpoint), new PutEventsCommand(input));
}
