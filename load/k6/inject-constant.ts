// Steady pod churn: a constant arrival rate of AdmissionReviews against /inject.
//
//   k6 run -e TARGET=https://127.0.0.1:9443/inject -e RATE=2000 -e DURATION=1m -e INSECURE=1 inject-constant.ts
//
// constant-arrival-rate is open-loop: k6 starts RATE iterations a second whatever the
// server does, so a slow server shows as latency (and dropped_iterations when every
// VU is busy), not as a politely lower request rate.
//
// Environment (defaults in brackets):
//   TARGET       /inject URL; a bare https://host:port gets /inject  [https://127.0.0.1:9443/inject]
//   RATE         requests per second                                 [1000]
//   DURATION     measured part of the run                            [1m]
//   WARMUP       run first at the same rate, left out of thresholds  [10s]
//   INSECURE     skip certificate verification (self-signed certs)   [false]
//   P99_MS       threshold on p(99) of http_req_duration, in ms      [10]
//   MAX_FAILED   threshold on the http_req_failed rate               [0.001]
//   MAX_DROPPED  threshold on dropped_iterations (k6 ran out of VUs) [0]
//   PRE_VUS, MAX_VUS  VUs allocated up front / at most    [max(10, RATE/100)] / [max(100, RATE/10)]
//   REVIEWS      comma list restricting the mix, e.g. orders-pod   [all, weighted]
//   REVIEWS_DIR  folder of the review files                          [../reviews]
//   CHECK_PATCH  check a patch comes back exactly for pods the default config injects [true]
//   TIMEOUT      per-request timeout                                 [10s]

import type { Options } from "k6/options";
import exec from "k6/execution";
import {
  BASE_OPTIONS, MAX_FAILED, P99_MS, REVIEWS, durationMs, envNumber, envString, injectOnce,
} from "./common.ts";

const RATE = envNumber("RATE", 1000);
const DURATION = envString("DURATION", "1m");
const WARMUP = envString("WARMUP", "10s");
const WARMUP_MS = durationMs(WARMUP);
const TOTAL_MS = WARMUP_MS + durationMs(DURATION);

const steady = "{phase:steady}";
const thresholds: NonNullable<Options["thresholds"]> = {
  [`http_req_duration${steady}`]: [`p(99)<${P99_MS}`],
  [`http_req_failed${steady}`]: [`rate<${MAX_FAILED}`],
  [`checks${steady}`]: [`rate>${1 - MAX_FAILED}`],
  dropped_iterations: [`count<=${envNumber("MAX_DROPPED", 0)}`],
};
// One sub-metric per review, so the end-of-test summary shows each one's p(99).
for (const r of REVIEWS) {
  thresholds[`http_req_duration{phase:steady,review:${r.name}}`] = [`p(99)<${P99_MS}`];
}

export const options: Options = {
  ...BASE_OPTIONS,
  scenarios: {
    inject: {
      executor: "constant-arrival-rate",
      rate: RATE,
      timeUnit: "1s",
      duration: `${TOTAL_MS}ms`,
      preAllocatedVUs: envNumber("PRE_VUS", Math.max(10, Math.ceil(RATE / 100))),
      maxVUs: envNumber("MAX_VUS", Math.max(100, Math.ceil(RATE / 10))),
      gracefulStop: "10s",
    },
  },
  thresholds,
};

// The warm-up runs in the same scenario (not a separate one) so that the VUs, and
// with them the keep-alive TLS connections, are the ones measured afterwards.
export default function (): void {
  const phase = Date.now() - exec.scenario.startTime < WARMUP_MS ? "warmup" : "steady";
  injectOnce({ phase });
}
