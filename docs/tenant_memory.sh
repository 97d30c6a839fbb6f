#!/usr/bin/env bash
# Measures the controller's memory under two hostile tenants (issue 25): 400 patches of a simulated
# target's loadScale (each a new trace to cache), then the policy deleted; and a Prometheus "server"
# allowed for the namespace that answers 400 MiB. Prints the controller's RSS (VmRSS, and VmHWM: the
# peak) at each point. Usage: docs/tenant_memory.sh [BUILD_DIR]   (default .build/release)
# OLD=1 runs a build from before the access rules (no --access-rules, no --memory-limit-mb).
set -euo pipefail
B=${1:-.build/release}/forescale
D=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$D"' EXIT
"$B" apiserver --data-dir "$D/data" --kubeconfig-out "$D/kubeconfig" >"$D/apiserver.log" 2>&1 &
for _ in $(seq 100); do [ -s "$D/kubeconfig" ] && break; sleep 0.1; done
export KUBECONFIG=$D/kubeconfig
kubectl apply -f crds/scalingpolicy.yaml >/dev/null
# The hostile "Prometheus": any query is answered with 400 MiB of JSON, streamed.
python3 - "$D/port" <<'PY' &
import http.server, sys, socketserver
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.end_headers()
        chunk = b" " * (1 << 20)
        try:
            self.wfile.write(b'{"status":"success","data":{"resultType":"matrix","result":[')
            for _ in range(400): self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError): pass
    def log_message(self, *a): pass
s = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H); open(sys.argv[1], "w").write(str(s.server_address[1])); s.serve_forever()
PY
for _ in $(seq 100); do [ -s "$D/port" ] && break; sleep 0.1; done
PORT=$(cat "$D/port")
cat >"$D/rules.yaml" <<YAML
namespaces:
  default:
    prometheus: [default]
YAML
TENANCY=(--access-rules "$D/rules.yaml" --memory-limit-mb 512)
[ "${OLD:-0}" = 1 ] && TENANCY=()
"$B" controller --metrics-port 0 --no-dashboard --leader-elect false --prometheus-url "http://127.0.0.1:$PORT" \
  "${TENANCY[@]}" >"$D/controller.log" 2>&1 &
CONTROLLER=$!
rss() { awk '/VmRSS|VmHWM/ {printf "%s %d MB  ", $1, $2/1024}' /proc/$CONTROLLER/status; echo "($1)"; }
sleep 2; rss "started"
kubectl apply -f - >/dev/null <<YAML
apiVersion: forescale.io/v1alpha1
kind: ScalingPolicy
metadata: {name: scaled}
spec:
  target: {kind: Simulated, name: scaled, simulation: {trace: seed, loadScale: 1}}
  mode: Reactive
YAML
sleep 2; rss "one simulated policy"
PATCHES=${PATCHES:-400}
for i in $(seq 1 "$PATCHES"); do
  kubectl patch sp scaled --type merge -p "{\"spec\":{\"target\":{\"simulation\":{\"loadScale\":$((i + 1))}}}}" >/dev/null
done
sleep 3; rss "after $PATCHES loadScale patches"
kubectl delete sp scaled >/dev/null; sleep 2; rss "policy deleted"
kubectl apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: flood}
spec:
  replicas: 1
  selector: {matchLabels: {app: flood}}
  template:
    metadata: {labels: {app: flood}}
    spec: {containers: [{name: flood, image: registry.invalid/flood}]}
YAML
kubectl apply -f - >/dev/null <<YAML
apiVersion: forescale.io/v1alpha1
kind: ScalingPolicy
metadata: {name: flood}
spec:
  target: {kind: Deployment, name: flood}
  mode: Reactive
  metrics: {source: prometheus, prometheus: {query: up}}
YAML
sleep 8; rss "a Prometheus answer of 400 MiB"
kubectl get sp flood -o jsonpath='{.status.conditions[?(@.type=="MetricsAvailable")].message}'; echo
