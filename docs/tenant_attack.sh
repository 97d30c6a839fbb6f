#!/usr/bin/env bash
# The cross-tenant Auto Scaling attack of issue 25, run against any build of the controller: a policy in
# namespace tenant-a names tenant-b's group (desired 6, idle) with minCapacity 0 and no stabilization. Prints the group's desired
# capacity 20 s later and the policy's Ready condition. moto runs without signature checks (any keys).
# Usage: docs/tenant_attack.sh FORESCALE_BINARY [ACCESS_RULES_FILE]
set -euo pipefail
B=$1
RULES=${2:-}
D=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$D"' EXIT
python3 -c 'import os; os.environ["INITIAL_NO_AUTH_ACTION_COUNT"]="inf"
from moto.server import ThreadedMotoServer
import time, sys
s = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False); s.start()
open(sys.argv[1], "w").write(str(s._server.server_port))
while True: time.sleep(1)' "$D/moto.port" 2>"$D/moto.log" &
for _ in $(seq 100); do [ -s "$D/moto.port" ] && break; sleep 0.1; done
export AWS_ENDPOINT_URL=http://127.0.0.1:$(cat "$D/moto.port") AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_REGION=us-east-1
python3 - <<'PY'
import botocore.session, os
c = botocore.session.get_session().create_client("autoscaling", region_name="us-east-1", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
c.create_launch_configuration(LaunchConfigurationName="lc", ImageId="ami-12345678", InstanceType="t3.micro")
c.create_auto_scaling_group(AutoScalingGroupName="tenant-b-payments", LaunchConfigurationName="lc", MinSize=0, MaxSize=10,
    DesiredCapacity=6, AvailabilityZones=["us-east-1a"],
    Tags=[{"Key": "forescale.io/namespace", "Value": "tenant-b", "ResourceId": "tenant-b-payments",
           "ResourceType": "auto-scaling-group", "PropagateAtLaunch": False}])
# The victim's CPU as the attacker's policy reads it: idle for the last hour.
import datetime
cw = botocore.session.get_session().create_client("cloudwatch", region_name="us-east-1", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
now = datetime.datetime.now(datetime.timezone.utc)
cw.put_metric_data(Namespace="AWS/EC2", MetricData=[
    {"MetricName": "CPUUtilization", "Dimensions": [{"Name": "AutoScalingGroupName", "Value": "tenant-b-payments"}],
     "Timestamp": now - datetime.timedelta(minutes=5 * i), "Value": 0.0} for i in range(1, 13)])
PY
"$B" apiserver --data-dir "$D/data" --kubeconfig-out "$D/kubeconfig" >"$D/apiserver.log" 2>&1 &
for _ in $(seq 100); do [ -s "$D/kubeconfig" ] && break; sleep 0.1; done
export KUBECONFIG=$D/kubeconfig
kubectl apply -f crds/scalingpolicy.yaml >/dev/null
kubectl create namespace tenant-a >/dev/null 2>&1 || kubectl apply -f - >/dev/null <<YAML
{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tenant-a"}}
YAML
kubectl apply -n tenant-a -f - >/dev/null <<YAML
apiVersion: forescale.io/v1alpha1
kind: ScalingPolicy
metadata: {name: evil}
spec:
  target: {kind: AutoScalingGroup, name: tenant-b-payments, region: us-east-1}
  minCapacity: 0
  maxCapacity: 1
  mode: Reactive
  behavior: {scaleDown: {maxStep: 100, cooldownSeconds: 0, stabilizationWindowSeconds: 0}}
YAML
"$B" controller --aws --metrics-port 0 --no-dashboard --leader-elect false ${RULES:+--access-rules "$RULES"} \
  >"$D/controller.log" 2>&1 &
sleep 20
python3 - <<'PY'
import botocore.session, os
c = botocore.session.get_session().create_client("autoscaling", region_name="us-east-1", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
g = c.describe_auto_scaling_groups(AutoScalingGroupNames=["tenant-b-payments"])["AutoScalingGroups"][0]
print("tenant-b-payments desired capacity after 20 s:", g["DesiredCapacity"])
PY
kubectl get sp evil -n tenant-a -o jsonpath='{range .status.conditions[?(@.type=="Ready")]}Ready={.status} {.reason}: {.message}{end}'; echo
