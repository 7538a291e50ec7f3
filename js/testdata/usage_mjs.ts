// Compiled by TestTypeDeclarations: the ES module entry, imported by its
// own file name as bundlers do, has the same types as tracklet.d.ts.
import createTracker, { createTracker as named, type Tracker, type TrackerConfig } from "../tracklet.mjs";

const config: TrackerConfig = { trackingId: "tid", maxInFlight: 12 };

async function main(): Promise<void> {
  const a: Tracker = await createTracker(config);
  const b: Tracker = await named({ trackingId: "tid" });
  await a.track("View", { page: "/" });
  b.identify("u");
  // @ts-expect-error: trackingId is required
  await createTracker({});
}

void main;
