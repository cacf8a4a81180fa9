#!/usr/bin/env node
// Writes AdmissionReviews of N distinct pod shapes for Istio 1.1's production template:
// every branch the template takes on pod data (annotation toggles, the `app` label, the
// service account) crossed with the number of `userVolume` and `userVolumeMount`
// entries, so that no two shapes compile to the same variant; the shapes also vary in
// their number of containers (1-3) and of ports per container (1-4), as a cluster's pods do.
//
//   node load/shapes.mjs --count 10000 --out DIR [--base load/reviews/orders-pod.json]
//                        [--order one|rotation|zipf --requests M] [--seed 15]
//
// Without --order: one file per shape. With --order: M request files, each a review
// with its own uid and pod name (as the apiserver sends them), of the shape drawn for
// that request: always shape 0 (`one`), shape i mod N (`rotation`: every request a
// different shape), or Zipf-distributed over the N shapes (`zipf`: s = 1.1, the shapes
// ranked in a shuffled order, both from --seed, so a run is repeatable).
// Prints the file names, one per line, in the order to send them.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

function parseArgs(argv) {
  const args = { count: 10000, out: "", base: "load/reviews/orders-pod.json", order: "", requests: 0, seed: 15 };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i], value = argv[i + 1];
    if (value === undefined) throw new Error(`${name} needs a value`);
    if (name === "--count") args.count = Number(value);
    else if (name === "--out") args.out = value;
    else if (name === "--base") args.base = value;
    else if (name === "--order") args.order = value;
    else if (name === "--requests") args.requests = Number(value);
    else if (name === "--seed") args.seed = Number(value);
    else throw new Error(`unknown option ${name}`);
  }
  if (!Number.isInteger(args.count) || args.count < 1) throw new Error("--count must be a positive integer");
  if (!args.out) throw new Error("--out DIR is required");
  if (args.order && !["one", "rotation", "zipf"].includes(args.order))
    throw new Error("--order must be one, rotation or zipf");
  if (args.order && (!Number.isInteger(args.requests) || args.requests < 1))
    throw new Error("--order needs --requests M, a positive integer");
  if (!Number.isInteger(args.seed)) throw new Error("--seed must be an integer");
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

// Containers and ports vary with the shape too (the template reads them for
// includeInboundPorts and the readiness probe's application ports).
function containersAndPorts(pod, k) {
  const app = pod.spec.containers[0];
  const ports = 1 + (Math.floor(k / 3) % 4);
  app.ports = Array.from({ length: ports }, (_, i) => ({ name: `port-${i}`, containerPort: 8080 + i, protocol: "TCP" }));
  for (let c = 1; c <= k % 3; c++) {
    pod.spec.containers.push({ ...structuredClone(app), name: `helper-${c}`,
      ports: [{ name: `helper-${c}`, containerPort: 9090 + c, protocol: "TCP" }] });
  }
}

function shape(base, k) {
  const review = structuredClone(base);
  const pod = review.request.object;
  pod.metadata.annotations ??= {};
  pod.metadata.labels ??= {};
  const bits = k % combinations;
  toggles.forEach((flip, i) => flip(pod, (bits >> i) & 1));
  containersAndPorts(pod, k);
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

// mulberry32: a small seeded generator, so that every run draws the same order.
function generator(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Draws shape numbers with P(rank r) proportional to 1 / r^s; which shape holds
// which rank is a seeded shuffle, so the popular shapes are not all the small ones.
function zipfSampler(count, s, random) {
  const cdf = new Float64Array(count);
  let total = 0;
  for (let r = 0; r < count; r++) cdf[r] = total += 1 / Math.pow(r + 1, s);
  const byRank = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [byRank[i], byRank[j]] = [byRank[j], byRank[i]];
  }
  return () => {
    const u = random() * total;
    let lo = 0, hi = count - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < u) lo = mid + 1; else hi = mid;
    }
    return byRank[lo];
  };
}

// The apiserver's request: a uid and a pod name of its own for every request.
function asRequest(review, i) {
  const pod = review.request.object;
  review.request.uid = review.request.uid.slice(0, 24) + i.toString(16).padStart(12, "0");
  pod.metadata.name = (pod.metadata.generateName ?? "pod-") + i.toString(36).padStart(5, "0");
  review.request.name = pod.metadata.name;
  return review;
}

const args = parseArgs(process.argv.slice(2));
const base = JSON.parse(readFileSync(args.base, "utf8"));
mkdirSync(args.out, { recursive: true });
if (!args.order) {
  for (let k = 0; k < args.count; k++) {
    const name = join(args.out, `shape-${String(k).padStart(6, "0")}.json`);
    writeFileSync(name, JSON.stringify(shape(base, k)));
    console.log(name);
  }
} else {
  const random = generator(args.seed);
  const draw = args.order === "one" ? () => 0
    : args.order === "zipf" ? zipfSampler(args.count, 1.1, random)
    : ((next) => () => next++ % args.count)(0);
  const shapes = new Map();  // each shape built once, then copied per request
  for (let i = 0; i < args.requests; i++) {
    const k = draw();
    if (!shapes.has(k)) shapes.set(k, shape(base, k));
    const name = join(args.out, `request-${String(i).padStart(6, "0")}.json`);
    writeFileSync(name, JSON.stringify(asRequest(structuredClone(shapes.get(k)), i)));
    console.log(name);
  }
  console.error(`shapes.mjs: ${args.requests} requests (${args.order}) over ${shapes.size} distinct shapes`);
}
