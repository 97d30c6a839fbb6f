"""Checks the embedded API server with the official Python `kubernetes` client.

Usage: python kube_python_probe.py KUBECONFIG
Prints one line per check ("PASS name" or "FAIL name: detail") and exits 1 if any failed.
The server must run with test hooks enabled and a short bookmark interval (about 1 s).
"""
import datetime
import json
import ssl
import sys
import threading
import time
import traceback
import urllib.request

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

config.load_kube_config(config_file=sys.argv[1])
api_client = client.ApiClient()
core = client.CoreV1Api()
apps = client.AppsV1Api()
coordination = client.CoordinationV1Api()
events_v1 = client.EventsV1Api()
custom = client.CustomObjectsApi()
extensions = client.ApiextensionsV1Api()
NS = "default"
results = []


def check(name):
    def wrap(function):
        try:
            function()
            results.append((name, None))
        except Exception as error:  # noqa: BLE001 - report every failure
            results.append((name, "%s: %s" % (type(error).__name__, error)))
            traceback.print_exc(file=sys.stderr)
        return function
    return wrap


def expect(condition, detail):
    if not condition:
        raise AssertionError(detail)


def test_hook(path):
    configuration = api_client.configuration
    context = ssl.create_default_context(cafile=configuration.ssl_ca_cert)
    request = urllib.request.Request(configuration.host + path, method="POST", data=b"{}",
                                     headers={"Authorization": configuration.get_api_key_with_prefix("BearerToken") or configuration.get_api_key_with_prefix("authorization")})
    urllib.request.urlopen(request, context=context).read()


@check("list and watch from the list's resourceVersion see exactly the later changes")
def _():
    core.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="watched", labels={"app": "web"}), data={"v": "1"}))
    listed = core.list_namespaced_config_map(NS)
    expect(any(item.metadata.name == "watched" for item in listed.items), "created config map not listed")

    def mutate():
        time.sleep(0.5)
        core.patch_namespaced_config_map("watched", NS, {"data": {"v": "2"}})
        core.delete_namespaced_config_map("watched", NS)

    threading.Thread(target=mutate).start()
    seen = []
    stream = watch.Watch()
    for event in stream.stream(core.list_namespaced_config_map, NS, resource_version=listed.metadata.resource_version,
                               allow_watch_bookmarks=True, timeout_seconds=5):
        if event["type"] == "BOOKMARK":
            continue
        seen.append((event["type"], event["object"].metadata.name, (event["object"].data or {}).get("v")))
        if event["type"] == "DELETED":
            stream.stop()
    expect(seen == [("MODIFIED", "watched", "2"), ("DELETED", "watched", "2")], "events: %r" % (seen,))


@check("bookmarks arrive on an idle watch when requested")
def _():
    bookmarks = []
    stream = watch.Watch()
    listed = core.list_namespaced_config_map(NS)
    for event in stream.stream(core.list_namespaced_config_map, NS, resource_version=listed.metadata.resource_version,
                               allow_watch_bookmarks=True, timeout_seconds=3):
        if event["type"] == "BOOKMARK":
            bookmarks.append(event["raw_object"]["metadata"]["resourceVersion"])
            stream.stop()
    expect(bookmarks and bookmarks[0].isdigit(), "no bookmark: %r" % (bookmarks,))


@check("a watch from a compacted resourceVersion fails with 410")
def _():
    core.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="old"), data={}))
    old_version = core.list_namespaced_config_map(NS).metadata.resource_version
    core.patch_namespaced_config_map("old", NS, {"data": {"x": "1"}})
    test_hook("/forescale-test/v1/compact")
    try:
        for _event in watch.Watch().stream(core.list_namespaced_config_map, NS, resource_version=old_version, timeout_seconds=3):
            pass
    except ApiException as error:
        expect(error.status == 410, "status %s" % error.status)
        return
    raise AssertionError("no 410")


@check("an update with a stale resourceVersion gets 409 Conflict")
def _():
    created = core.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="contended"), data={"n": "0"}))
    stale = created.metadata.resource_version
    created.data = {"n": "1"}
    updated = core.replace_namespaced_config_map("contended", NS, created)
    expect(updated.metadata.resource_version != stale, "resourceVersion did not change")
    created.metadata.resource_version = stale
    created.data = {"n": "2"}
    try:
        core.replace_namespaced_config_map("contended", NS, created)
    except ApiException as error:
        body = json.loads(error.body)
        expect(error.status == 409 and body["reason"] == "Conflict", "got %s %s" % (error.status, body.get("reason")))
        return
    raise AssertionError("stale update accepted")


@check("create twice gets 409 AlreadyExists; get of a missing object 404 NotFound")
def _():
    try:
        core.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="contended")))
        raise AssertionError("duplicate create accepted")
    except ApiException as error:
        expect(error.status == 409 and json.loads(error.body)["reason"] == "AlreadyExists", "got %s" % error.status)
    try:
        core.read_namespaced_config_map("missing", NS)
        raise AssertionError("missing object returned")
    except ApiException as error:
        expect(error.status == 404 and json.loads(error.body)["reason"] == "NotFound", "got %s" % error.status)


@check("custom resources: create, status patch, label selector list")
def _():
    group, version, plural = "test.forescale.io", "v1", "widgets"
    body = {"apiVersion": "test.forescale.io/v1", "kind": "Widget", "metadata": {"name": "py", "labels": {"tier": "edge"}}, "spec": {"replicas": 1}}
    created = custom.create_namespaced_custom_object(group, version, NS, plural, body)
    expect(created["spec"]["mode"] == "Active", "default not applied: %r" % created["spec"])
    expect(created["metadata"]["generation"] == 1, "generation %r" % created["metadata"].get("generation"))
    patched = custom.patch_namespaced_custom_object_status(group, version, NS, plural, "py", {"status": {"replicas": 1}, "spec": {"replicas": 50}})
    expect(patched["status"]["replicas"] == 1 and patched["spec"]["replicas"] == 1, "status write leaked: %r" % patched)
    expect(patched["metadata"]["generation"] == 1, "status write bumped generation")
    listed = custom.list_namespaced_custom_object(group, version, NS, plural, label_selector="tier in (edge,core)")
    expect([item["metadata"]["name"] for item in listed["items"]] == ["py"], "selector list %r" % listed["items"])
    try:
        custom.patch_namespaced_custom_object(group, version, NS, plural, "py", {"spec": {"replicas": -1}})
        raise AssertionError("invalid spec accepted")
    except ApiException as error:
        expect(error.status == 422 and json.loads(error.body)["reason"] == "Invalid", "got %s" % error.status)


@check("Lease with MicroTime times, and optimistic concurrency on renew")
def _():
    now = datetime.datetime.now(datetime.timezone.utc)
    lease = client.V1Lease(metadata=client.V1ObjectMeta(name="forescale-leader"),
                           spec=client.V1LeaseSpec(holder_identity="a", lease_duration_seconds=15, acquire_time=now, renew_time=now, lease_transitions=0))
    created = coordination.create_namespaced_lease(NS, lease)
    expect(created.spec.holder_identity == "a" and created.spec.renew_time is not None, "lease %r" % created.spec)
    created.spec.holder_identity = "b"
    coordination.replace_namespaced_lease("forescale-leader", NS, created)
    try:
        created.spec.holder_identity = "c"
        coordination.replace_namespaced_lease("forescale-leader", NS, created)
        raise AssertionError("stale lease update accepted")
    except ApiException as error:
        expect(error.status == 409, "got %s" % error.status)


@check("events.k8s.io/v1 Events are visible as core/v1 with involvedObject field selectors")
def _():
    now = datetime.datetime.now(datetime.timezone.utc)
    event = client.EventsV1Event(metadata=client.V1ObjectMeta(name="py.1"), event_time=now, reporting_controller="forescale.io/controller",
                                 reporting_instance="p", action="Scale", reason="ScaledUp", type="Normal", note="up",
                                 regarding=client.V1ObjectReference(kind="Widget", name="py", namespace=NS))
    events_v1.create_namespaced_event(NS, event)
    listed = core.list_namespaced_event(NS, field_selector="involvedObject.name=py,involvedObject.kind=Widget")
    expect([(item.reason, item.message) for item in listed.items] == [("ScaledUp", "up")], "events %r" % listed.items)


@check("Deployment scale subresource via strategic merge patch")
def _():
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "py-web"},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "py"}},
                           "template": {"metadata": {"labels": {"app": "py"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    apps.create_namespaced_deployment(NS, deployment)
    scale = apps.patch_namespaced_deployment_scale("py-web", NS, {"spec": {"replicas": 4}})
    expect(scale.spec.replicas == 4, "scale %r" % scale.spec)
    patched = apps.patch_namespaced_deployment("py-web", NS, {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}}})
    expect(patched.spec.replicas == 4 and patched.spec.template.spec.containers[0].image == "nginx:2", "patched %r" % patched.spec)


@check("paginated list with limit and continue returns every item once")
def _():
    for index in range(7):
        core.create_namespaced_config_map(NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="page-%d" % index, labels={"paged": "yes"})))
    names, token = [], None
    while True:
        page = core.list_namespaced_config_map(NS, limit=3, _continue=token)
        names += [item.metadata.name for item in page.items if item.metadata.name.startswith("page-")]
        token = page.metadata._continue
        if not token:
            break
    expect(names == ["page-%d" % index for index in range(7)], "names %r" % names)


for name, failure in results:
    print("PASS " + name if failure is None else "FAIL %s: %s" % (name, failure))
sys.exit(1 if any(failure for _name, failure in results) else 0)
