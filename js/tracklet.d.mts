// Types for `import {createTracker} from ".../tracklet.mjs"`: TypeScript
// looks for a file's declarations next to it under the same name, so the
// ES module entry needs this file; the declarations themselves live in
// tracklet.d.ts.
export * from "./tracklet.js";
export { default } from "./tracklet.js";
