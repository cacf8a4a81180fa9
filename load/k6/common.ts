// Shared by the k6 scenarios in this folder: settings from the environment, the set of
// AdmissionReviews sent to /inject, and the checks made on every answer.
//
// This file lives beside the scenario scripts on purpose: k6 resolves open() paths
// against the script it was called from in some versions and against the entry
// script in others; with both in one folder the two agree.

import http from "k6/http";
import type { RefinedResponse, ResponseType } from "k6/http";
import { check } from "k6";
import exec from "k6/execution";
import type { Options } from "k6/options";

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

export function envString(name: string, fallback: string): string {
  const v = __ENV[name];
  return v === undefined || v === "" ? fallback : v;
}

export function envNumber(name: string, fallback: number): number {
  const raw = __ENV[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${raw}: want a non-negative number`);
  return n;
}

export function envBool(name: string, fallback: boolean): boolean {
  const raw = __ENV[name];
  if (raw === undefined || raw === "") return fallback;
  switch (raw.toLowerCase()) {
    case "1": case "true": case "yes": case "on": return true;
    case "0": case "false": case "no": case "off": return false;
    default: throw new Error(`${name}=${raw}: want true or false`);
  }
}

/** Milliseconds in a k6 duration such as "90s", "1m30s", "250ms" or "2h". */
export function durationMs(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const value = Number(m[1]);
    const unit = m[2];
    total += value * (unit === "ms" ? 1 : unit === "s" ? 1e3 : unit === "m" ? 60e3 : 3600e3);
    consumed += m[0].length;
  }
  if (consumed !== text.length || text.length === 0) throw new Error(`"${text}": not a duration like 30s, 2m or 1m30s`);
  return total;
}

/** The /inject URL: TARGET as given, or with /inject appended when it names only a host. */
export function injectUrl(target: string): string {
  return /^https?:\/\/[^/]+\/?$/.test(target) ? target.replace(/\/?$/, "/inject") : target;
}

export const TARGET = injectUrl(envString("TARGET", "https://127.0.0.1:9443/inject"));
export const INSECURE = envBool("INSECURE", false);
export const TIMEOUT = envString("TIMEOUT", "10s"); // the apiserver's longest webhook timeout is 30s, its default 10s
export const CHECK_PATCH = envBool("CHECK_PATCH", true);
export const P99_MS = envNumber("P99_MS", 10);
export const MAX_FAILED = envNumber("MAX_FAILED", 0.001);

// ---------------------------------------------------------------------------
// Reviews
// ---------------------------------------------------------------------------

interface ReviewSpec {
  /** File name in REVIEWS_DIR without ".json". */
  name: string;
  /** Share of the traffic, relative to the other reviews in the run. */
  weight: number;
  /** Whether the default config injects (answer carries a JSON Patch). */
  patched: boolean;
}

// A pod-churn mix: mostly Deployment pods being created, some opted out or in an
// ignored namespace, deletes, and a few objects the webhook should wave through.
const CATALOGUE: readonly ReviewSpec[] = [
  { name: "orders-pod", weight: 40, patched: true },       // Deployment pod, admission.k8s.io/v1
  { name: "cart-pod-v1beta1", weight: 10, patched: true },   // older apiserver: admission.k8s.io/v1beta1
  { name: "many-env-pod", weight: 10, patched: true },       // 14 KB: 64 env vars, 30 labels, 2 containers + init
  { name: "opt-out-pod", weight: 10, patched: false },       // Job pod, annotation sidecar.istio.io/inject: "false"
  { name: "kube-system-pod", weight: 5, patched: false },    // ignored namespace
  { name: "pod-delete", weight: 20, patched: false },        // DELETE: object null, oldObject the pod
  { name: "service-create", weight: 5, patched: false },     // not a Pod
];

export interface Review extends ReviewSpec {
  apiVersion: string;
  /** The body split around the request uid, so each request can carry its own. */
  head: string;
  tail: string;
}

interface AdmissionReviewIn {
  apiVersion?: string;
  request?: { uid?: string };
}

function loadReview(dir: string, spec: ReviewSpec): Review {
  const path = `${dir}/${spec.name}.json`;
  const text = open(path);
  const parsed = JSON.parse(text) as AdmissionReviewIn;
  const uid = parsed.request?.uid;
  if (typeof uid !== "string" || typeof parsed.apiVersion !== "string") {
    throw new Error(`${path}: not an AdmissionReview with request.uid`);
  }
  // request.uid comes before the object in every file here, so its first
  // occurrence is the one to replace; the check below proves it.
  const needle = `"uid":"${uid}"`;
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`${path}: request.uid not found as ${needle}`);
  const review: Review = {
    ...spec,
    apiVersion: parsed.apiVersion,
    head: text.slice(0, at + 7),
    tail: text.slice(at + needle.length - 1),
  };
  const probe = JSON.parse(bodyFor(review, "probe")) as AdmissionReviewIn;
  if (probe.request?.uid !== "probe") throw new Error(`${path}: cannot splice a uid into the request`);
  return review;
}

export function bodyFor(review: Review, uid: string): string {
  return review.head + uid + review.tail;
}

function selectedSpecs(): ReviewSpec[] {
  const only = envString("REVIEWS", "");
  if (only === "") return [...CATALOGUE];
  const names = only.split(",").map((s) => s.trim()).filter((s) => s !== "");
  return names.map((n) => {
    const spec = CATALOGUE.find((s) => s.name === n);
    if (spec === undefined) {
      throw new Error(`REVIEWS: unknown review "${n}"; known: ${CATALOGUE.map((s) => s.name).join(", ")}`);
    }
    return spec;
  });
}

// Init context: read every file once per VU. REVIEWS_DIR overrides the folder
// (an in-cluster Job mounts them from a ConfigMap).
export const REVIEWS: readonly Review[] = selectedSpecs().map((s) =>
  loadReview(envString("REVIEWS_DIR", "../reviews"), s),
);

// A fixed, interleaved order in which each review appears as often as its weight
// (smooth weighted round-robin), walked by the test-wide iteration number: the
// mix is exact over every full cycle and the same in every run.
const ORDER: readonly Review[] = (() => {
  const total = REVIEWS.reduce((sum, r) => sum + r.weight, 0);
  const credit = REVIEWS.map(() => 0);
  const order: Review[] = [];
  for (let step = 0; step < total; step++) {
    let best = 0;
    for (let i = 0; i < REVIEWS.length; i++) {
      credit[i] = (credit[i] ?? 0) + (REVIEWS[i]?.weight ?? 0);
      if ((credit[i] ?? 0) > (credit[best] ?? 0)) best = i;
    }
    credit[best] = (credit[best] ?? 0) - total;
    const chosen = REVIEWS[best];
    if (chosen !== undefined) order.push(chosen);
  }
  return order;
})();

/** A uid in UUID form that is unique within the test run. */
function uidFor(iteration: number): string {
  const vu = exec.vu.idInTest.toString(16).padStart(4, "0").slice(-4);
  const n = iteration.toString(16).padStart(12, "0").slice(-12);
  return `10ad${vu}-0000-4000-8000-${n}`;
}

// ---------------------------------------------------------------------------
// One request and its checks
// ---------------------------------------------------------------------------

interface AdmissionReviewOut {
  apiVersion?: unknown;
  kind?: unknown;
  response?: {
    uid?: unknown;
    allowed?: unknown;
    patchType?: unknown;
    patch?: unknown;
  };
}

function parseAnswer(res: RefinedResponse<ResponseType | undefined>): AdmissionReviewOut | null {
  if (res.status !== 200 || typeof res.body !== "string") return null;
  try {
    const v: unknown = JSON.parse(res.body);
    return typeof v === "object" && v !== null ? (v as AdmissionReviewOut) : null;
  } catch {
    return null;
  }
}

function patchAsExpected(answer: AdmissionReviewOut | null, review: Review): boolean {
  const r = answer?.response;
  if (r === undefined) return false;
  if (!review.patched) return r.patch === undefined && r.patchType === undefined;
  return r.patchType === "JSONPatch" && typeof r.patch === "string" && r.patch.length > 0;
}

/**
 * Sends the next review of the mix to /inject and checks the answer. `tags` are added
 * to the request's metrics (e.g. the phase, so thresholds can skip the warm-up).
 */
export function injectOnce(tags: Record<string, string>): void {
  const iteration = exec.scenario.iterationInTest;
  const review = ORDER[iteration % ORDER.length];
  if (review === undefined) throw new Error("no reviews selected");
  const uid = uidFor(iteration);
  const res = http.post(TARGET, bodyFor(review, uid), {
    headers: { "Content-Type": "application/json" },
    tags: { ...tags, review: review.name },
    timeout: TIMEOUT,
  });
  const answer = parseAnswer(res);
  const checks: Record<string, () => boolean> = {
    "status is 200": () => res.status === 200,
    "allowed is true": () => answer?.response?.allowed === true,
    "uid is echoed": () => answer?.response?.uid === uid,
    "apiVersion is echoed": () => answer?.apiVersion === review.apiVersion && answer?.kind === "AdmissionReview",
  };
  if (CHECK_PATCH) checks["patch iff injected"] = () => patchAsExpected(answer, review);
  check(null, checks, { ...tags, review: review.name });
}

// ---------------------------------------------------------------------------
// Options shared by the scenarios
// ---------------------------------------------------------------------------

export const BASE_OPTIONS: Options = {
  insecureSkipTLSVerify: INSECURE,
  tlsVersion: { min: http.TLS_1_2, max: http.TLS_1_3 },
  summaryTrendStats: ["avg", "min", "med", "p(90)", "p(99)", "p(99.9)", "max", "count"],
  // Bodies are needed for the checks; the answers are a few KB.
  discardResponseBodies: false,
  noCookiesReset: true,
};
