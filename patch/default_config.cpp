#include "patch/default_config.hpp"

// The built-in config: one named template, `sidecar`, that injects the proxy a
// current istiod (1.2x) accepts, and the values it reads. Written for
// meshinject: it reads the same `.Values` keys as Istio's chart, so a cluster's
// own values file can replace the embedded one, but it is shorter than the
// chart's template (no gateway, gRPC or OpenShift branches; docs/default-config.md
// lists what it leaves out, and tests/cmd/default_config_conformance_test.cpp the
// intended differences from Istio 1.28's injected proxy, with reasons).
// deploy/base/injector-config.yaml and injector-values.json carry the same text
// (a test keeps them equal).
//
// The user-volume annotations are written field by field, not as Istio's `toYaml |
// indent` of the whole entry: the renderer splices pod data in only in a scalar's
// place (a volume source's object through a whole `toYaml`, a mount's scalars as
// their text, typed by the field), so annotation text never becomes YAML structure.

namespace meshinject::patch {
namespace {

constexpr std::string_view config = R"CONFIG(# meshinject's built-in injection config (Istio >= 1.9 shape: named templates).
policy: enabled
alwaysInjectSelector: []
neverInjectSelector: []
injectedAnnotations: {}
defaultTemplates: [sidecar]
templates:
  sidecar: |
    {{- define "proxy-resources" }}
    {{- $a := .ObjectMeta.Annotations }}
    {{- if or (isset $a `sidecar.istio.io/proxyCPU`) (isset $a `sidecar.istio.io/proxyMemory`) (isset $a `sidecar.istio.io/proxyCPULimit`) (isset $a `sidecar.istio.io/proxyMemoryLimit`) }}
    {{- if or (isset $a `sidecar.istio.io/proxyCPU`) (isset $a `sidecar.istio.io/proxyMemory`) }}
          requests:
            {{- with index $a `sidecar.istio.io/proxyCPU` }}
            cpu: "{{ . }}"
            {{- end }}
            {{- with index $a `sidecar.istio.io/proxyMemory` }}
            memory: "{{ . }}"
            {{- end }}
    {{- end }}
    {{- if or (isset $a `sidecar.istio.io/proxyCPULimit`) (isset $a `sidecar.istio.io/proxyMemoryLimit`) }}
          limits:
            {{- with index $a `sidecar.istio.io/proxyCPULimit` }}
            cpu: "{{ . }}"
            {{- end }}
            {{- with index $a `sidecar.istio.io/proxyMemoryLimit` }}
            memory: "{{ . }}"
            {{- end }}
    {{- end }}
    {{- else if .Values.global.proxy.resources }}
    {{- toYaml .Values.global.proxy.resources | nindent 6 }}
    {{- end }}
    {{- end }}
    {{- $proxy := .Values.global.proxy }}
    {{- $image := .ProxyImage }}
    {{- with annotation .ObjectMeta `sidecar.istio.io/proxyImage` "" }}{{ if contains "/" . }}{{ $image = . }}{{ end }}{{ end }}
    {{- $mode := annotation .ObjectMeta `sidecar.istio.io/interceptionMode` .ProxyConfig.InterceptionMode }}
    {{- $native := ne (index .ObjectMeta.Annotations `sidecar.istio.io/nativeSidecar` | default (printf "%t" .NativeSidecars)) "false" }}
    {{- $statusPort := annotation .ObjectMeta `status.sidecar.istio.io/port` $proxy.statusPort }}
    {{- $excludedInbound := excludeInboundPort $statusPort (annotation .ObjectMeta `traffic.sidecar.istio.io/excludeInboundPorts` $proxy.excludeInboundPorts) }}
    {{- $apps := list }}
    {{- range .Spec.Containers }}{{ if ne .Name "istio-proxy" }}{{ $apps = append $apps .Name }}{{ end }}{{ end }}
    {{- $labels := .ObjectMeta.Labels }}
    {{- $istiod := "istiod" }}{{ with .Values.revision }}{{ $istiod = printf "istiod-%s" . }}{{ end }}
    metadata:
      labels:
        security.istio.io/tlsMode: {{ index $labels `security.istio.io/tlsMode` | default "istio" | quote }}
        service.istio.io/canonical-name: {{ index $labels `service.istio.io/canonical-name` | default (index $labels `app.kubernetes.io/name`) | default (index $labels `app`) | default .DeploymentMeta.Name | trunc 63 | trimSuffix "-" | quote }}
        service.istio.io/canonical-revision: {{ index $labels `service.istio.io/canonical-revision` | default (index $labels `app.kubernetes.io/version`) | default (index $labels `version`) | default "latest" | quote }}
      annotations:
        istio.io/rev: {{ .Revision | default "default" | quote }}
        {{- if $apps }}
        {{- if not (isset .ObjectMeta.Annotations `kubectl.kubernetes.io/default-logs-container`) }}
        kubectl.kubernetes.io/default-logs-container: {{ first $apps | quote }}
        {{- end }}
        {{- if not (isset .ObjectMeta.Annotations `kubectl.kubernetes.io/default-container`) }}
        kubectl.kubernetes.io/default-container: {{ first $apps | quote }}
        {{- end }}
        {{- end }}
    spec:
      {{- if or (ne $mode "NONE") $native }}
      initContainers:
      {{- end }}
      {{- if ne $mode "NONE" }}
      - name: istio-init
        image: {{ quote $image }}
        {{- with .Values.global.imagePullPolicy }}
        imagePullPolicy: {{ . }}
        {{- end }}
        args:
        - istio-iptables
        - "-p"
        - {{ .MeshConfig.ProxyListenPort | default "15001" | quote }}
        - "-z"
        - {{ .MeshConfig.ProxyInboundListenPort | default "15006" | quote }}
        - "-u"
        - {{ if eq $mode "TPROXY" }}"1337"{{ else }}{{ .ProxyUID | default "1337" | quote }}{{ end }}
        - "-m"
        - {{ quote $mode }}
        - "-i"
        - {{ annotation .ObjectMeta `traffic.sidecar.istio.io/includeOutboundIPRanges` $proxy.includeIPRanges | quote }}
        - "-x"
        - {{ annotation .ObjectMeta `traffic.sidecar.istio.io/excludeOutboundIPRanges` $proxy.excludeIPRanges | quote }}
        - "-b"
        - {{ annotation .ObjectMeta `traffic.sidecar.istio.io/includeInboundPorts` $proxy.includeInboundPorts | quote }}
        - "-d"
        - {{ if $excludedInbound }}{{ printf "15090,15021,%s" $excludedInbound | quote }}{{ else }}"15090,15021"{{ end }}
        {{- with annotation .ObjectMeta `traffic.sidecar.istio.io/includeOutboundPorts` $proxy.includeOutboundPorts }}
        - "-q"
        - {{ quote . }}
        {{- end }}
        {{- with annotation .ObjectMeta `traffic.sidecar.istio.io/excludeOutboundPorts` $proxy.excludeOutboundPorts }}
        - "-o"
        - {{ quote . }}
        {{- end }}
        {{- with index .ObjectMeta.Annotations `istio.io/reroute-virtual-interfaces` | default (index .ObjectMeta.Annotations `traffic.sidecar.istio.io/kubevirtInterfaces`) }}
        - "-k"
        - {{ quote . }}
        {{- end }}
        {{- with index .ObjectMeta.Annotations `traffic.sidecar.istio.io/excludeInterfaces` }}
        - "-c"
        - {{ quote . }}
        {{- end }}
        - {{ printf "--log_output_level=%s" (annotation .ObjectMeta `sidecar.istio.io/agentLogLevel` .Values.global.logging.level) | quote }}
        resources:
        {{- template "proxy-resources" . }}
        securityContext:
          allowPrivilegeEscalation: false
          privileged: false
          readOnlyRootFilesystem: false
          runAsGroup: 0
          runAsNonRoot: false
          runAsUser: 0
          capabilities:
            add: [NET_ADMIN, NET_RAW]
            drop: [ALL]
      {{- end }}
      {{- if $native }}
      - name: istio-proxy
        restartPolicy: Always
      {{- else }}
      containers:
      - name: istio-proxy
      {{- end }}
        image: {{ quote $image }}
        {{- with .Values.global.imagePullPolicy }}
        imagePullPolicy: {{ . }}
        {{- end }}
        args:
        - proxy
        - sidecar
        - --domain
        - {{ printf "$(POD_NAMESPACE).svc.%s" $proxy.clusterDomain | quote }}
        - {{ printf "--proxyLogLevel=%s" (annotation .ObjectMeta `sidecar.istio.io/logLevel` $proxy.logLevel) | quote }}
        - {{ printf "--proxyComponentLogLevel=%s" (annotation .ObjectMeta `sidecar.istio.io/componentLogLevel` $proxy.componentLogLevel) | quote }}
        - {{ printf "--log_output_level=%s" (annotation .ObjectMeta `sidecar.istio.io/agentLogLevel` .Values.global.logging.level) | quote }}
        env:
        - name: PILOT_CERT_PROVIDER
          value: {{ .Values.global.pilotCertProvider | quote }}
        - name: CA_ADDR
          value: {{ .Values.global.caAddress | default (printf "%s.%s.svc:15012" $istiod .Values.global.istioNamespace) | quote }}
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        - name: POD_NAMESPACE
          valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
        - name: INSTANCE_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - name: SERVICE_ACCOUNT
          valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}
        - name: HOST_IP
          valueFrom: {fieldRef: {fieldPath: status.hostIP}}
        - name: ISTIO_CPU_LIMIT
          valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: "0"}}
        - name: PROXY_CONFIG
          value: |
            {{ protoToJSON .ProxyConfig }}
        - name: ISTIO_META_POD_PORTS
          value: |-
            [
            {{- $first := true }}
            {{- range .Spec.Containers }}{{ range .Ports }}
                {{ if not $first }},{{ end }}{{ structToJSON . }}
            {{- $first = false }}
            {{- end }}{{ end }}
            ]
        - name: ISTIO_META_APP_CONTAINERS
          {{- with $apps }}
          value: {{ join "," . | quote }}
          {{- end }}
        - name: GOMEMLIMIT
          valueFrom: {resourceFieldRef: {resource: limits.memory, divisor: "0"}}
        - name: GOMAXPROCS
          valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: "0"}}
        - name: ISTIO_META_CLUSTER_ID
          value: {{ .Values.global.multiCluster.clusterName | default "Kubernetes" | quote }}
        - name: ISTIO_META_NODE_NAME
          valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
        - name: ISTIO_META_INTERCEPTION_MODE
          value: {{ quote $mode }}
        {{- with index .ObjectMeta.Labels `service.istio.io/workload-name` | default .DeploymentMeta.Name }}
        - name: ISTIO_META_WORKLOAD_NAME
          value: {{ quote . }}
        {{- end }}
        {{- if and .TypeMeta.APIVersion .DeploymentMeta.Name }}
        - name: ISTIO_META_OWNER
          value: {{ printf "kubernetes://apis/%s/namespaces/%s/%ss/%s" .TypeMeta.APIVersion (valueOrDefault .DeploymentMeta.Namespace "default") (toLower .TypeMeta.Kind) .DeploymentMeta.Name | quote }}
        {{- end }}
        - name: ISTIO_META_MESH_ID
          value: {{ .Values.global.meshID | default .MeshConfig.TrustDomain | default "cluster.local" | quote }}
        - name: TRUST_DOMAIN
          value: {{ .MeshConfig.TrustDomain | default "cluster.local" | quote }}
        {{- range $name, $value := .ProxyConfig.ProxyMetadata }}
        - name: {{ $name }}
          value: {{ quote $value }}
        {{- end }}
        {{- if $native }}
        lifecycle:
          preStop:
            exec:
              command: [pilot-agent, request, {{ printf "--debug-port=%v" $statusPort | quote }}, POST, drain]
        {{- end }}
        ports:
        - containerPort: 15090
          name: http-envoy-prom
          protocol: TCP
        {{- if ne (printf "%v" $statusPort) "0" }}
        readinessProbe:
          httpGet:
            path: /healthz/ready
            port: 15021
          {{- with annotation .ObjectMeta `readiness.status.sidecar.istio.io/initialDelaySeconds` $proxy.readinessInitialDelaySeconds }}
          initialDelaySeconds: {{ . }}
          {{- end }}
          periodSeconds: {{ annotation .ObjectMeta `readiness.status.sidecar.istio.io/periodSeconds` $proxy.readinessPeriodSeconds }}
          timeoutSeconds: 3
          failureThreshold: {{ annotation .ObjectMeta `readiness.status.sidecar.istio.io/failureThreshold` $proxy.readinessFailureThreshold }}
        {{- if $proxy.startupProbe.enabled }}
        startupProbe:
          httpGet:
            path: /healthz/ready
            port: 15021
          periodSeconds: 1
          timeoutSeconds: 3
          failureThreshold: {{ $proxy.startupProbe.failureThreshold }}
        {{- end }}
        {{- end }}
        resources:
        {{- template "proxy-resources" . }}
        securityContext:
          allowPrivilegeEscalation: false
          privileged: false
          readOnlyRootFilesystem: true
          runAsNonRoot: true
          runAsUser: {{ .ProxyUID | default "1337" }}
          runAsGroup: {{ .ProxyGID | default "1337" }}
          capabilities:
            drop: [ALL]
        volumeMounts:
        - {name: workload-socket, mountPath: /var/run/secrets/workload-spiffe-uds}
        - {name: credential-socket, mountPath: /var/run/secrets/credential-uds}
        - {name: workload-certs, mountPath: /var/run/secrets/workload-spiffe-credentials}
        - {name: istiod-ca-cert, mountPath: /var/run/secrets/istio}
        - {name: istio-ca-crl, mountPath: /var/run/secrets/istio/crl}
        - {name: istio-data, mountPath: /var/lib/istio/data}
        - {name: istio-envoy, mountPath: /etc/istio/proxy}
        - {name: istio-token, mountPath: /var/run/secrets/tokens}
        - {name: istio-podinfo, mountPath: /etc/istio/pod}
        {{- with index .ObjectMeta.Annotations `sidecar.istio.io/userVolumeMount` }}
        {{- range $name, $mount := fromJSON . }}
        - name: {{ quote $name }}
          {{- range $field, $value := $mount }}
          {{ $field }}: {{ $value }}
          {{- end }}
        {{- end }}
        {{- end }}
      volumes:
      - name: workload-socket
        emptyDir: {}
      - name: credential-socket
        emptyDir: {}
      - name: workload-certs
        emptyDir: {}
      - name: istio-envoy
        emptyDir: {medium: Memory}
      - name: istio-data
        emptyDir: {}
      - name: istio-podinfo
        downwardAPI:
          items:
          - {path: labels, fieldRef: {fieldPath: metadata.labels}}
          - {path: annotations, fieldRef: {fieldPath: metadata.annotations}}
      - name: istio-token
        projected:
          sources:
          - serviceAccountToken:
              path: istio-token
              expirationSeconds: 43200
              audience: {{ .Values.global.sds.token.aud | default "istio-ca" | quote }}
      - name: istiod-ca-cert
        configMap:
          name: istio-ca-root-cert
      - name: istio-ca-crl
        configMap:
          name: istio-ca-crl
          optional: true
      {{- with index .ObjectMeta.Annotations `sidecar.istio.io/userVolume` }}
      {{- range $name, $volume := fromJSON . }}
      - name: {{ quote $name }}
        {{- range $field, $source := $volume }}
        {{ $field }}: {{ toYaml $source }}
        {{- end }}
      {{- end }}
      {{- end }}
      {{- with .Values.global.imagePullSecrets }}
      imagePullSecrets:
      {{- range . }}
      - name: {{ . }}
      {{- end }}
      {{- end }}
)CONFIG";

// The values the template reads, as Istio 1.28's chart defaults them, except
// where meshinject has a reason: the released image (docker.io/istio, 1.28.0),
// not the chart's development hub and tag.
constexpr std::string_view values = R"VALUES({
  "revision": "",
  "global": {
    "hub": "docker.io/istio",
    "tag": "1.28.0",
    "imagePullPolicy": "",
    "imagePullSecrets": [],
    "istioNamespace": "istio-system",
    "caAddress": "",
    "pilotCertProvider": "istiod",
    "meshID": "",
    "network": "",
    "multiCluster": {"clusterName": ""},
    "logging": {"level": "default:info"},
    "logAsJson": false,
    "sds": {"token": {"aud": "istio-ca"}},
    "proxy_init": {"image": "proxyv2"},
    "proxy": {
      "image": "proxyv2",
      "clusterDomain": "cluster.local",
      "logLevel": "warning",
      "componentLogLevel": "misc:error",
      "statusPort": 15020,
      "includeIPRanges": "*",
      "excludeIPRanges": "",
      "includeInboundPorts": "*",
      "excludeInboundPorts": "",
      "includeOutboundPorts": "",
      "excludeOutboundPorts": "",
      "readinessInitialDelaySeconds": 0,
      "readinessPeriodSeconds": 15,
      "readinessFailureThreshold": 4,
      "startupProbe": {"enabled": true, "failureThreshold": 600},
      "resources": {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "2000m", "memory": "1024Mi"}
      }
    }
  },
  "pilot": {"cni": {"enabled": false, "provider": "default"}},
  "sidecarInjectorWebhook": {"rewriteAppHTTPProbe": true}
}
)VALUES";

}  // namespace

std::string_view default_injection_config() noexcept { return config; }
std::string_view default_values() noexcept { return values; }

}  // namespace meshinject::patch
