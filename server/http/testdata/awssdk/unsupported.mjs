// unsupported.mjs calls, with the official AWS SDK client, each Personalize
// Events operation other than PutEvents against a collector, and prints one
// JSON line per call: {"call", "ok", "name", "message", "status"}.
// server/http/awssdk_unsupported_test.go runs it.
//
// Usage: node unsupported.mjs <collector URL>
import {
  PersonalizeEventsClient,
  PutActionInteractionsCommand,
  PutActionsCommand,
  PutItemsCommand,
  PutUsersCommand,
} from "@aws-sdk/client-personalize-events";
import { outcome } from "./report.mjs";

const [url] = process.argv.slice(2);
if (!url) {
  console.error("usage: node unsupported.mjs <collector URL>");
  process.exit(2);
}

const datasetArn = "arn:aws:personalize:us-east-1:123456789012:dataset/tracklet/INTERACTIONS";
const calls = [
  ["PutUsers", new PutUsersCommand({ datasetArn, users: [{ userId: "u1", properties: JSON.stringify({ age: 30 }) }] })],
  ["PutItems", new PutItemsCommand({ datasetArn, items: [{ itemId: "m1" }] })],
  ["PutActions", new PutActionsCommand({ datasetArn, actions: [{ actionId: "a1" }] })],
  ["PutActionInteractions", new PutActionInteractionsCommand({
    trackingId: "tk_x",
    actionInteractions: [{ actionId: "a1", sessionId: "s", timestamp: new Date(1714979289000), eventType: "Taken" }],
  })],
];

const client = new PersonalizeEventsClient({
  endpoint: url,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIDTRACKLETTEST", secretAccessKey: "not-a-secret" },
  maxAttempts: 1,
});
for (const [call, command] of calls) {
  console.log(JSON.stringify(await outcome(call, client, command)));
}
client.destroy();
