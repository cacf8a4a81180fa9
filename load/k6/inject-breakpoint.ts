// Breakpoint: raise the arrival rate until latency or errors cross the line, then stop.
//
//   k6 run -e TARGET=https://127.0.0.1:9443/inject -e RATE=50000 -e DURATION=5m -e INSECURE=1 inject-breakpoint.ts
//
// ramping-arrival-rate goes from START_RATE to RATE over DURATION (after WARMUP at
// START_RATE). The thresholds carry abortOnFail, so the run ends soon after the server
// (or the k6 host: watch its CPU) stops keeping up. The gauge `target_rate` holds the
// arrival rate k6 was asked for at the last request: read its value in the summary as
// the breaking point (it lags by up to delayAbortEval plus one evaluation period).
//
// Environment (defaults in brackets), besides those of common.ts (TARGET, INSECURE,
// REVIEWS, REVIEWS_DIR, CHECK_PATCH, TIMEOUT; see inject-constant.ts):
//   START_RATE   requests per second at the start         [100]
//   RATE         requests per second at the end of the ramp [20000]
//   DURATION     length of the ramp                        [5m]
//   WARMUP       time at START_RATE before the ramp        [10s]
//   P99_MS       abort when p(99) goes above, in ms        [10]
//   MAX_FAILED   abort when the http_req_failed rate goes above [0.01 here]
//   MAX_DROPPED  abort when k6 drops more iterations (all VUs busy) [100]
//   PRE_VUS, MAX_VUS  [max(20, RATE/200)] / [max(200, RATE/10)]

import type { Options } from "k6/options";
import exec from "k6/execution";
import { Gauge } from "k6/metrics";
import { BASE_OPTIONS, P99_MS, durationMs, envNumber, envString, injectOnce } from "./common.ts";

const START_RATE = envNumber("START_RATE", 100);
const RATE = envNumber("RATE", 20000);
const RAMP = envString("DURATION", "5m");
const WARMUP = envString("WARMUP", "10s");
const WARMUP_MS = durationMs(WARMUP);
const RAMP_MS = durationMs(RAMP);
const MAX_FAILED = envNumber("MAX_FAILED", 0.01);

const targetRate = new Gauge("target_rate");

export const options: Options = {
  ...BASE_OPTIONS,
  scenarios: {
    breakpoint: {
      executor: "ramping-arrival-rate",
      startRate: START_RATE,
      timeUnit: "1s",
      stages: [
        ...(WARMUP_MS > 0 ? [{ duration: WARMUP, target: START_RATE }] : []),
        { duration: RAMP, target: RATE },
      ],
      preAllocatedVUs: envNumber("PRE_VUS", Math.max(20, Math.ceil(RATE / 200))),
      maxVUs: envNumber("MAX_VUS", Math.max(200, Math.ceil(RATE / 10))),
      gracefulStop: "5s",
    },
  },
  thresholds: {
    "http_req_duration{phase:ramp}": [
      { threshold: `p(99)<${P99_MS}`, abortOnFail: true, delayAbortEval: "10s" },
    ],
    "http_req_failed{phase:ramp}": [
      { threshold: `rate<${MAX_FAILED}`, abortOnFail: true, delayAbortEval: "10s" },
    ],
    dropped_iterations: [
      { threshold: `count<=${envNumber("MAX_DROPPED", 100)}`, abortOnFail: true },
    ],
    target_rate: ["value>=0"], // always passes: makes the summary list the gauge
  },
};

export default function (): void {
  const elapsed = Date.now() - exec.scenario.startTime;
  const ramped = elapsed < WARMUP_MS ? 0 : Math.min(1, (elapsed - WARMUP_MS) / RAMP_MS);
  targetRate.add(Math.round(START_RATE + (RATE - START_RATE) * ramped));
  injectOnce({ phase: elapsed < WARMUP_MS ? "warmup" : "ramp" });
}
