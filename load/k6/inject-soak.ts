// The soak, for k6 users: good AdmissionReviews at a constant rate for a long time,
// bad requests mixed in, and the server's resident memory watched through its admin
// port. load/soak.sh is the complete version (it also swaps the ConfigMap and the
// certificate every few seconds and holds idle connections open, which k6 cannot do
// from inside a script); run the swaps beside it. Against a cluster, for example, with two
// versions of the ConfigMap and of the TLS Secret prepared as files:
//
//   while sleep 5; do kubectl apply -f cm-a.yaml -f tls-a.yaml; sleep 5; kubectl apply -f cm-b.yaml -f tls-b.yaml; done &
//   k6 run -e TARGET=https://127.0.0.1:9443 -e ADMIN=http://127.0.0.1:15014 -e RATE=300 \
//     -e DURATION=30m -e INSECURE=1 load/k6/inject-soak.ts
//
// Scenarios:
//   good    constant-arrival-rate RATE/s of injected pods (orders-pod, many-env-pod,
//           cart-pod-v1beta1), each with its own uid; every answer must be 200, allowed,
//           with the uid sent and a JSON Patch.
//   bad     BAD_RATE/s of bodies the server must refuse with a 400: not JSON, truncated
//           JSON, an AdmissionReview without a request, one with a non-string uid.
//   memory  with ADMIN set: one VU reads process_resident_memory_bytes after the warm-up
//           and every 10 s until the end, and reports the growth as rss_growth_ratio.
//
// Environment (defaults in brackets), and those of common.ts (TARGET, INSECURE, TIMEOUT,
// REVIEWS_DIR):
//   RATE         good requests per second                             [300]
//   DURATION     measured part of the run                             [30m]
//   WARMUP       the same traffic first, left out of the thresholds   [30s]
//   BAD_RATE     bad requests per second                              [5]
//   ADMIN        admin URL for /metrics, e.g. http://127.0.0.1:15014  [unset: no memory check]
//   MAX_RSS_GROWTH  threshold on rss_growth_ratio (end / start)      [1.10]
//   P99_MS       threshold on p(99) of the good requests, in ms       [100]
//
// Thresholds: no good request failed (http_req_failed and checks of scenario good, with
// no tolerance), every bad request refused, no dropped iterations, and the memory growth.

import http from "k6/http";
import { check, sleep } from "k6";
import exec from "k6/execution";
import { Gauge } from "k6/metrics";
import type { Options } from "k6/options";
import {
  BASE_OPTIONS, REVIEWS, TARGET, TIMEOUT, bodyFor, durationMs, envNumber, envString,
} from "./common.ts";

const RATE = envNumber("RATE", 300);
const BAD_RATE = envNumber("BAD_RATE", 5);
const DURATION = envString("DURATION", "30m");
const WARMUP = envString("WARMUP", "30s");
const WARMUP_MS = durationMs(WARMUP);
const TOTAL_MS = WARMUP_MS + durationMs(DURATION);
const ADMIN = envString("ADMIN", "").replace(/\/$/, "");
const MAX_RSS_GROWTH = envNumber("MAX_RSS_GROWTH", 1.1);
const P99_MS = envNumber("P99_MS", 100);
const RSS_EVERY_S = 10;

// Only pods the default config injects, so every good answer must carry a patch.
const GOOD = REVIEWS.filter((r) => r.patched);

const BAD_BODIES: readonly { name: string; body: string }[] = [
  { name: "not-json", body: "this is not JSON" },
  { name: "truncated-json", body: '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"' },
  { name: "no-request", body: '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}' },
  { name: "uid-not-a-string", body: '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":7}}' },
];

const rssStart = new Gauge("server_rss_start_bytes");
const rssEnd = new Gauge("server_rss_end_bytes");
const rssGrowth = new Gauge("rss_growth_ratio");

const thresholds: NonNullable<Options["thresholds"]> = {
  "http_req_failed{scenario:good,phase:steady}": ["rate==0"],
  "checks{scenario:good,phase:steady}": ["rate==1"],
  "checks{scenario:bad}": ["rate==1"],
  "http_req_duration{scenario:good,phase:steady}": [`p(99)<${P99_MS}`],
  dropped_iterations: ["count==0"],
};
if (ADMIN !== "") thresholds["rss_growth_ratio"] = [`value<=${MAX_RSS_GROWTH}`];

const scenarios: NonNullable<Options["scenarios"]> = {
  good: {
    executor: "constant-arrival-rate",
    exec: "good",
    rate: RATE,
    timeUnit: "1s",
    duration: `${TOTAL_MS}ms`,
    preAllocatedVUs: Math.max(10, Math.ceil(RATE / 50)),
    maxVUs: Math.max(100, Math.ceil(RATE / 5)),
    gracefulStop: "10s",
  },
  bad: {
    executor: "constant-arrival-rate",
    exec: "bad",
    rate: Math.max(1, BAD_RATE),
    timeUnit: "1s",
    duration: `${TOTAL_MS}ms`,
    preAllocatedVUs: 2,
    maxVUs: 20,
    gracefulStop: "10s",
  },
};
if (ADMIN !== "") {
  scenarios["memory"] = {
    executor: "per-vu-iterations",
    exec: "memory",
    vus: 1,
    iterations: 1,
    startTime: `${WARMUP_MS}ms`,
    maxDuration: `${TOTAL_MS - WARMUP_MS + 60_000}ms`,
  };
}

export const options: Options = { ...BASE_OPTIONS, scenarios, thresholds };

export function good(): void {
  const phase = Date.now() - exec.scenario.startTime < WARMUP_MS ? "warmup" : "steady";
  const iteration = exec.scenario.iterationInTest;
  const review = GOOD[iteration % GOOD.length];
  if (review === undefined) throw new Error("REVIEWS selects no pod that gets injected");
  const uid = `50a60000-0000-4000-8000-${iteration.toString(16).padStart(12, "0").slice(-12)}`;
  const res = http.post(TARGET, bodyFor(review, uid), {
    headers: { "Content-Type": "application/json" },
    tags: { phase, review: review.name },
    timeout: TIMEOUT,
  });
  let response: { uid?: unknown; allowed?: unknown; patchType?: unknown; patch?: unknown } | undefined;
  try {
    const parsed = JSON.parse(typeof res.body === "string" ? res.body : "null") as { response?: typeof response } | null;
    response = parsed?.response;
  } catch {
    response = undefined;
  }
  check(null, {
    "status is 200": () => res.status === 200,
    "uid is echoed": () => response?.uid === uid,
    "allowed is true": () => response?.allowed === true,
    "a JSON Patch": () => response?.patchType === "JSONPatch" && typeof response?.patch === "string" && response.patch !== "",
  }, { phase });
}

// 400s are what a bad request must get, so they are not failures here.
const REFUSED = http.expectedStatuses(400);

export function bad(): void {
  const pick = BAD_BODIES[exec.scenario.iterationInTest % BAD_BODIES.length];
  if (pick === undefined) return;
  const res = http.post(TARGET, pick.body, {
    headers: { "Content-Type": "application/json" },
    tags: { bad: pick.name },
    timeout: TIMEOUT,
    responseCallback: REFUSED,
  });
  check(res, { "bad request refused with 400": (r) => r.status === 400 }, { bad: pick.name });
}

function residentBytes(): number {
  const res = http.get(`${ADMIN}/metrics`, { tags: { name: "admin-metrics" }, timeout: "5s" });
  const line = typeof res.body === "string" ? /^process_resident_memory_bytes (\S+)$/m.exec(res.body) : null;
  const value = line?.[1] === undefined ? NaN : Number(line[1]);
  if (!Number.isFinite(value)) throw new Error(`${ADMIN}/metrics has no process_resident_memory_bytes`);
  return value;
}

// One iteration that lasts the whole measured part: the start is read after the warm-up,
// the end as late as the good traffic runs, so the ratio covers the steady state.
export function memory(): void {
  const start = residentBytes();
  rssStart.add(start);
  const endAt = exec.scenario.startTime + TOTAL_MS - WARMUP_MS - RSS_EVERY_S * 1000;
  let last = start;
  while (Date.now() < endAt) {
    sleep(RSS_EVERY_S);
    last = residentBytes();
  }
  rssEnd.add(last);
  rssGrowth.add(last / start);
}
