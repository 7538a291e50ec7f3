// Compiled by TestTypeDeclarations with tsc --strict: every function and
// option of tracklet.d.ts in use, and two calls it must refuse.
import createTracker, { createTracker as named, type Tracker, type TrackerConfig, type Stats, type Notice, type WireEvent } from "../tracklet";

const config: TrackerConfig = {
  trackingId: "tid", endpoint: "https://c.example", batchSize: 10, flushInterval: 5000, maxQueue: 1000,
  maxAttempts: 10, maxAge: 86400000, retryBase: 1000, retryMax: 60000, maxInFlight: 4, sessionTimeout: 1800000,
  sessionId: "s", userId: "u", storage: true, maxStorageBytes: 524288, consent: "pending", respectGpc: true,
  debug: false, compress: true, unload: true, baseUrl: "https://c.example/", wasmUrl: "/assets/tracklet-X.wasm",
};

async function main(): Promise<void> {
  const t: Tracker = await createTracker(config);
  const t2 = await named({ trackingId: "x" });
  const id: string | null = await t.track("View", { page: "/", n: 1, ok: true }, {
    eventId: "e", itemId: "i", eventValue: 4.5, impression: ["a"], recommendationId: "r", metricAttribution: "m", sentAt: new Date(),
  });
  await t.track("View", null, { sentAt: Date.now() });
  const ev: WireEvent = t.buildEvent("View");
  const err: string | null = t.validate(ev);
  t.identify("user"); t.reset();
  const r = await t.flush(); const sent: number = r.sent;
  const s: Stats = t2.stats(); const q: number = s.queued + s.retries + s.stored + s.storedBytes + s.storageErrors;
  const sid: string = t.sessionId();
  t.consent(true); t.optOut(); t.optIn();
  const st: "granted" | "pending" | "denied" = t.consentState();
  const off: () => void = t.on("dropped", (n: Notice) => console.log(n.eventIds, n.count, n.error));
  off();
  window.tracklet.init({ trackingId: "tid", debug: true });
  await tracklet.ready;
  tracklet.track("E");
  console.log(id, err, sent, q, sid, st);
}
main();

// @ts-expect-error: the kind of notice is checked
tracklet.on("delivered", () => {});
// @ts-expect-error: trackingId is required
createTracker({ endpoint: "x" });
