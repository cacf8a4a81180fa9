#!/usr/bin/env node
// Writes N AdmissionReviews that are N distinct pod shapes for Istio 1.1's production
// template: every branch the template takes on pod data (annotation toggles, the `app`
// label, the service account) crossed with the number of `userVolume` and
// `userVolumeMount` entries, so that no two reviews compile to the same variant.
//
//   node load/shapes.mjs --count 10000 --out DIR [--base load/reviews/orders-pod.json]
//
// Prints the directory's file names, one per line, in rotation order.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

function parseArgs(argv) {
  const args = { count: 10000, out: "", base: "load/reviews/orders-pod.json" };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i], value = argv[i + 1];
    if (value === undefined) throw new Error(`${name} needs a value`);
    if (name === "--count") args.count = Number(value);
    else if (name === "--out") args.out = value;
    else if (name === "--base") args.base = value;
    else throw new Error(`unknown option ${name}`);
  }
  if (!Number.isInteger(args.count) || args.count < 1) throw new Error("--count must be a positive integer");
  if (!args.out) throw new Error("--out DIR is required");
  return args;
}

// Each toggle flips one branch of the 1.1 production template.
const toggles = [
  (pod, on) => on && (pod.metadata.annotations["traffic.sidecar.istio.io/kubevirtInterfaces"] = "net1"),
  (pod, on) => on || delete pod.metadata.labels.app,
  (pod, on) => on && (pod.metadata.annotations["status.sidecar.istio.io/port"] = "0"),
  (pod, on) => on && (pod.metadata.annotations["sidecar.istio.io/bootstrapOverride"] = "custom-bootstrap"),
  (pod, on) => on && (pod.metadata.annotations["sidecar.istio.io/interceptionMode"] = "TPROXY"),
  (pod, on) => on && (pod.metadata.annotations["sidecar.istio.io/proxyCPU"] = "250m"),
  (pod, on) => on && (pod.metadata.annotations["sidecar.istio.io/proxyMemory"] = "256Mi"),
  (pod, on) => on || (pod.spec.serviceAccountName = ""),
];
const combinations = 1 << toggles.length;

function userVolumes(n) {
  const volumes = {}, mounts = {};
  for (let i = 0; i < n; i++) {
    volumes[`extra-${i}`] = { secret: { secretName: `extra-${i}` } };
    mounts[`extra-${i}`] = { mountPath: `/etc/extra/${i}`, readOnly: true };
  }
  return { volumes: JSON.stringify(volumes), mounts: JSON.stringify(mounts) };
}

function shape(base, k) {
  const review = structuredClone(base);
  const pod = review.request.object;
  pod.metadata.annotations ??= {};
  pod.metadata.labels ??= {};
  const bits = k % combinations;
  toggles.forEach((flip, i) => flip(pod, (bits >> i) & 1));
  const volumeCount = Math.floor(k / combinations);
  if (volumeCount > 0) {
    const { volumes, mounts } = userVolumes(volumeCount);
    pod.metadata.annotations["sidecar.istio.io/userVolume"] = volumes;
    pod.metadata.annotations["sidecar.istio.io/userVolumeMount"] = mounts;
  }
  // A UUID still: the base uid with its last group replaced by k in hex.
  review.request.uid = review.request.uid.slice(0, 24) + k.toString(16).padStart(12, "0");
  return review;
}

const args = parseArgs(process.argv.slice(2));
const base = JSON.parse(readFileSync(args.base, "utf8"));
mkdirSync(args.out, { recursive: true });
for (let k = 0; k < args.count; k++) {
  const name = join(args.out, `shape-${String(k).padStart(6, "0")}.json`);
  writeFileSync(name, JSON.stringify(shape(base, k)));
  console.log(name);
}
