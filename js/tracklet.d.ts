// TypeScript declarations for Tracklet's browser API: the global `tracklet`
// installed by tracklet.js, and createTracker from tracklet.mjs.

/** A property value: PutEvents properties are flat. */
export type PropertyValue = string | number | boolean;

/** Properties of an event; keys are camelCase Interactions-schema field names. */
export type Properties = Record<string, PropertyValue>;

/** Optional members of an event. */
export interface TrackOptions {
  /** Replaces the generated UUIDv7, e.g. when replaying historical events. */
  eventId?: string;
  itemId?: string;
  eventValue?: number;
  /** Item ids shown, in order; 1–25 of them. */
  impression?: string[];
  recommendationId?: string;
  /** metricAttribution.eventAttributionSource. */
  metricAttribution?: string;
  /** When the event occurred; defaults to the time of the call. */
  sentAt?: Date | number;
}

/** An event in PutEvents wire form, as the collector receives it. */
export interface WireEvent {
  eventId?: string;
  eventType: string;
  eventValue?: number;
  itemId?: string;
  impression?: string[];
  recommendationId?: string;
  metricAttribution?: { eventAttributionSource: string };
  /** A JSON object encoded as a string. */
  properties?: string;
  /** Seconds since 1970, with a millisecond fraction. */
  sentAt: number;
}

/**
 * Settings, as tracklet.init({...}) / createTracker({...}) take them. The
 * script tag takes the same as data- attributes: data-tracking-id,
 * data-batch-size, data-respect-gpc, ... (strings are converted).
 * Durations are in milliseconds.
 */
export interface TrackerConfig {
  /** Names the tracker at the collector. Required. */
  trackingId: string;
  /** Collector base URL; default: the script's origin. Requests go to `${endpoint}/events`. */
  endpoint?: string;
  /** Most events per request, 1–10 (default 10). */
  batchSize?: number;
  /** Longest an event waits before a flush (default 5000). */
  flushInterval?: number;
  /** Most events kept unsent (default 1000); further track() calls reject. */
  maxQueue?: number;
  /** Tries per event before it is dropped (default 10). */
  maxAttempts?: number;
  /** Age after which an unsent event is dropped (default 86400000, a day). */
  maxAge?: number;
  /** Backoff: the n-th consecutive failure waits random(0, min(retryMax, retryBase·2ⁿ⁻¹)) (defaults 1000, 60000), at least Retry-After. */
  retryBase?: number;
  retryMax?: number;
  /** Most requests on the wire at once while a burst is delivered (default 12, twice Chromium's connections per host, which queues the rest). */
  maxInFlight?: number;
  /** A new session starts after this much inactivity (default 1800000, 30 minutes). */
  sessionTimeout?: number;
  /** Use this session id instead of the stored or generated one. */
  sessionId?: string;
  /** The signed-in user from the start; see identify(). */
  userId?: string;
  /** Keep unsent events in localStorage across page loads (default true). */
  storage?: boolean;
  /** Bound of the saved queue in bytes (default 524288). */
  maxStorageBytes?: number;
  /** "pending": queue (in memory) but do not send until consent(true); "denied": track nothing. Default "granted". */
  consent?: "granted" | "pending" | "denied";
  /** Treat Global Privacy Control and Do Not Track as an opt-out (default false). */
  respectGpc?: boolean;
  /** Log deliveries, failures and drops with console.debug (default false). */
  debug?: boolean;
  /** Gzip request bodies of 1 KB or more where CompressionStream exists (default true). */
  compress?: boolean;
  /** Send what is queued on pagehide / visibilitychange with keepalive fetches (default true). */
  unload?: boolean;
  /**
   * tracklet.js only: run the module in a dedicated Worker, off the page's main thread (default true).
   * Where no Worker can run it (no Worker, a Content-Security-Policy without `worker-src blob:` for a
   * collector on another origin) the module runs on the page, as with false.
   */
  worker?: boolean;
  /** createTracker from the collector's tracklet.mjs only: where wasm_exec.js and tracklet.wasm are (default: the module's directory). */
  baseUrl?: string;
  /**
   * createTracker from the npm package "tracklet" only: the URL of tracklet.wasm, as the bundler copied it
   * (esbuild: `import wasmUrl from "tracklet/tracklet.wasm"` with `--loader:.wasm=file`). Default:
   * `new URL("./tracklet.wasm", import.meta.url)`. The package has no default endpoint: set `endpoint`.
   */
  wasmUrl?: string | URL;
}

export interface FlushResult {
  /** Events the collector accepted. */
  sent: number;
  /** Events not delivered: kept for a retry when the failure may pass, dropped otherwise. */
  failed: number;
}

export interface Stats {
  /** Events waiting to be sent, including those being sent. */
  queued: number;
  /** Events the collector accepted. */
  sent: number;
  /** Events in failed send attempts, counted once per attempt. */
  failed: number;
  /** Events given up: refused by the collector, out of attempts or too old, turned away by a full queue, or discarded by consent. */
  dropped: number;
  /** Failed requests that will be tried again. */
  retries: number;
  /** Events and bytes this page holds in localStorage. */
  stored: number;
  storedBytes: number;
  /** Storage writes that failed or were refused by the bounds (the events stay in memory). */
  storageErrors: number;
}

/** What on() listeners receive. */
export interface Notice {
  type: "sent" | "error" | "dropped";
  count: number;
  eventIds: string[];
  /** Why, for "error" and "dropped". */
  error?: string;
  /** For "error": milliseconds until the next attempt. */
  retryIn?: number;
}

export interface Tracker {
  /**
   * Queues an event. Resolves to its eventId (null when the visitor opted
   * out or denied consent); rejects with an Error whose message names the
   * invalid member, e.g. "eventType: missing or empty".
   */
  track(eventType: string, properties?: Properties | null, options?: TrackOptions): Promise<string | null>;
  /**
   * Builds and validates an event without queueing it. Throws like track rejects. With the module in its
   * Worker, the first call starts the module on the page too (its rules are Go's): a one-time cost.
   */
  buildEvent(eventType: string, properties?: Properties | null, options?: TrackOptions): WireEvent;
  /** null when the wire-form event is valid, else a description naming each broken rule. */
  validate(event: object): string | null;
  /**
   * Sets the user of events tracked from now on. Throws on an invalid id when the module runs on the
   * page; with the module in its Worker, an invalid id is reported on the console and the user stays.
   */
  identify(userId: string): void;
  /** Forgets the user and starts a new session. */
  reset(): void;
  /** Sends everything queued now. */
  flush(): Promise<FlushResult>;
  stats(): Stats;
  /** The session of the next event. */
  sessionId(): string;
  /** Ends a pending consent: true sends what waited, false discards it. */
  consent(granted: boolean): void;
  /** Stops tracking and discards what is queued; remembered across visits. */
  optOut(): void;
  /** Undoes optOut (and grants consent); remembered across visits. */
  optIn(): void;
  consentState(): "granted" | "pending" | "denied";
  /** Listens for deliveries ("sent"), failures to be retried ("error") and drops. Returns a function that stops listening. */
  on(type: "sent" | "error" | "dropped", listener: (notice: Notice) => void): () => void;
}

/** The global installed by tracklet.js. Calls made before `ready` are queued and replayed in order. */
export interface Tracklet extends Tracker {
  /** Resolves when the module runs and queued calls have been replayed. */
  ready: Promise<Tracklet>;
  /** Completes the configuration (before the tracker starts); required when the tag has no data-tracking-id. */
  init(config: Partial<TrackerConfig>): void;
  /** Calls queued by the snippet before tracklet.js ran; emptied by the loader. */
  q?: Array<[string, ArrayLike<unknown>]>;
}

/** From tracklet.mjs: loads the module (once per page) and creates a tracker. */
export function createTracker(config: TrackerConfig): Promise<Tracker>;
export default createTracker;

declare global {
  interface Window {
    tracklet: Tracklet;
  }
  var tracklet: Tracklet;
}
