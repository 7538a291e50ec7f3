// TypeScript declarations for Tracklet's browser API: the global `tracklet`
// installed by tracklet.js.

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

export interface FlushResult {
  /** Events the collector accepted. */
  sent: number;
  /** Events not delivered: kept for the next flush when the failure may pass, dropped otherwise. */
  failed: number;
}

export interface Stats {
  /** Events waiting to be sent. */
  queued: number;
  /** Events the collector accepted. */
  sent: number;
  /** Events in failed send attempts, counted once per attempt. */
  failed: number;
  /** Events given up: refused as invalid by the collector, or turned away by a full queue. */
  dropped: number;
}

export interface Tracklet {
  /**
   * Queues an event. Resolves to its eventId; rejects with an Error whose
   * message names the invalid member, e.g. "eventType: missing or empty".
   */
  track(eventType: string, properties?: Properties | null, options?: TrackOptions): Promise<string>;
  /** Builds and validates an event without queueing it. Throws like track rejects. Only after `ready`. */
  buildEvent(eventType: string, properties?: Properties | null, options?: TrackOptions): WireEvent;
  /** null when the wire-form event is valid, else a description naming each broken rule. Only after `ready`. */
  validate(event: object): string | null;
  /** Sets the user of events tracked from now on. Throws on an invalid id. */
  identify(userId: string): void;
  /** Forgets the user and starts a new session. */
  reset(): void;
  /** Sends everything queued now. */
  flush(): Promise<FlushResult>;
  stats(): Stats;
  /** The session of the next event. Only after `ready`. */
  sessionId(): string;
  /** Resolves when the module runs and queued calls have been replayed. */
  ready: Promise<Tracklet>;
  /** Calls queued by the snippet before tracklet.js ran; emptied by the loader. */
  q?: Array<[string, ArrayLike<unknown>]>;
}

declare global {
  interface Window {
    tracklet: Tracklet;
  }
  var tracklet: Tracklet;
}
