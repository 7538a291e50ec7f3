/*
 * Tracklet loader. Install with
 *
 *   <script async src="https://COLLECTOR/tracklet.js" data-tracking-id="TID"></script>
 *
 * and, to keep calls made before this script has run, put this line before it:
 *
 *   <script>window.tracklet=window.tracklet||{q:[]};["init","track","identify","reset","flush","consent","optIn","optOut","on"].forEach(function(m){window.tracklet[m]=window.tracklet[m]||function(){window.tracklet.q.push([m,arguments,Date.now()])}})</script>
 *
 * The loader installs window.tracklet at once. Every track call is durable
 * from the moment it is made: it gets its eventId and sentAt at the call
 * and goes into a journal in localStorage (see "The journal" below), so a
 * visitor who leaves before the WebAssembly module runs loses nothing. The
 * loader loads wasm_exec.js and tracklet.wasm from its own directory only
 * after the page's load event, at low priority, so the page never waits
 * for the tracker; calls made meanwhile are replayed to the module in
 * order. Without data-tracking-id it waits for tracklet.init({...}).
 */
//
// This is the script-tag entry: web/cmd/assets bundles it (and the
// modules it imports) into one classic script, tracklet.js. The same
// script is the module's Worker's (see worker.js), started from its own
// URL or through a blob: bootstrap that imports it: there is no document
// there.

import { w } from "./natives.js";
import { page } from "./page.js";
import { worker } from "./worker.js";

if (w.document) page();
else worker();
