#!/usr/bin/env python3
"""Checks a rendered Kubernetes overlay (`kubectl kustomize kubernetes/overlays/NAME`) for what the
deployment design requires and a schema cannot see: security contexts, probes, resources, drain
timing, PodDisruptionBudgets, autoscalers, Services/Ingress wiring, NetworkPolicies, the
migration Job and configuration. Called by scripts/validate-deploy.sh.

usage: check_k8s.py OVERLAY RENDERED.yaml     (OVERLAY: dev | prod)
Prints every problem and exits 1 if there is any.
"""

import re
import sys

import yaml

SERVICES = {
    # name: (port, exposed through the Ingress)
    "api-service": (8000, True),
    "chat-gateway": (3001, True),
    "llm-worker": (8003, False),
    "admin-stats": (8002, True),
}
AUTOSCALED = {"chat-gateway", "llm-worker"}
# chat-gateway closes its sockets (telling clients to reconnect elsewhere) before the HTTP
# server's own shutdown timeout starts.
GATEWAY_SOCKET_DRAIN_SECS = 5
DEFAULT_SHUTDOWN_TIMEOUT_SECS = 20
REQUIRED_CONFIG = {
    "APP_ENV": "production",
    "APP__DATABASE__MIGRATE_ON_START": "false",
    "APP__LOG__FORMAT": "json",
}
SECRET_NAME = "chat-platform-secrets"
SECRET_KEYS = {"DATABASE_URL", "REDIS_URL", "JWT_SECRET"}

problems = []


def problem(where, msg):
    problems.append(f"{where}: {msg}")


def get(obj, path, default=None):
    for key in path.split("."):
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


def base_name(name):
    """The name before kustomize's generator hash suffix."""
    return re.sub(r"-[a-z0-9]{10}$", "", name)


def selects(selector, labels):
    if not selector:
        return False
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        value = labels.get(expr["key"])
        op = expr["operator"]
        if op == "In" and value not in expr.get("values", []):
            return False
        if op == "NotIn" and value in expr.get("values", []):
            return False
        if op == "Exists" and value is None:
            return False
        if op == "DoesNotExist" and value is not None:
            return False
    return True


def main():
    overlay, path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)

    def named(kind, name):
        for d in by_kind.get(kind, []):
            if d["metadata"]["name"] == name:
                return d
        return None

    # --- namespace -----------------------------------------------------------------------------
    namespaces = by_kind.get("Namespace", [])
    if not namespaces:
        problem("Namespace", "missing")
    for ns in namespaces:
        if get(ns, "metadata.labels", {}).get("pod-security.kubernetes.io/enforce") != "restricted":
            problem(f"Namespace/{ns['metadata']['name']}", "Pod Security 'restricted' not enforced")
    for d in docs:
        if d["kind"] != "Namespace" and get(d, "metadata.namespace") != "chat-platform":
            problem(f"{d['kind']}/{d['metadata']['name']}", "not in namespace chat-platform")

    # --- configuration ---------------------------------------------------------------------------
    config = {}
    for cm in by_kind.get("ConfigMap", []):
        if base_name(cm["metadata"]["name"]) == "chat-platform-config":
            config = cm.get("data") or {}
    if not config:
        problem("ConfigMap/chat-platform-config", "missing")
    for key, want in REQUIRED_CONFIG.items():
        if config.get(key) != want:
            problem("ConfigMap/chat-platform-config", f"{key} must be {want!r}, is {config.get(key)!r}")
    secrets = {base_name(s["metadata"]["name"]): s for s in by_kind.get("Secret", [])}
    if overlay == "dev":
        s = secrets.get(SECRET_NAME)
        if not s:
            problem("dev", f"Secret {SECRET_NAME} is not generated")
        else:
            keys = set((s.get("data") or {}).keys()) | set((s.get("stringData") or {}).keys())
            for k in sorted(SECRET_KEYS - keys):
                problem(f"Secret/{SECRET_NAME}", f"key {k} missing")
    if overlay == "prod" and secrets:
        problem("prod", "Secrets must not be rendered from the repository (operator-created)")
    configmap_names = {cm["metadata"]["name"] for cm in by_kind.get("ConfigMap", [])}
    secret_names = {s["metadata"]["name"] for s in by_kind.get("Secret", [])}

    # --- workloads ---------------------------------------------------------------------------------
    workloads = by_kind.get("Deployment", []) + by_kind.get("StatefulSet", []) + by_kind.get("Job", [])
    pods = {}  # workload name -> (pod labels, pod spec)
    for w in workloads:
        kind, name = w["kind"], w["metadata"]["name"]
        where = f"{kind}/{name}"
        tmpl = get(w, "spec.template", {})
        spec = tmpl.get("spec", {})
        labels = get(tmpl, "metadata.labels", {})
        pods[name] = (labels, spec)
        if kind != "Job" and not selects(get(w, "spec.selector"), labels):
            problem(where, "selector does not match its pod template labels")
        psc = spec.get("securityContext", {})
        if psc.get("runAsNonRoot") is not True:
            problem(where, "pod securityContext.runAsNonRoot must be true")
        if get(psc, "seccompProfile.type") != "RuntimeDefault":
            problem(where, "pod seccompProfile must be RuntimeDefault")
        if spec.get("automountServiceAccountToken") is not False:
            problem(where, "automountServiceAccountToken must be false")
        if psc.get("runAsUser") == 0:
            problem(where, "runs as root")
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            cw = f"{where} container {c['name']}"
            sc = c.get("securityContext", {})
            if sc.get("allowPrivilegeEscalation") is not False:
                problem(cw, "allowPrivilegeEscalation must be false")
            if sc.get("readOnlyRootFilesystem") is not True:
                problem(cw, "readOnlyRootFilesystem must be true")
            if sc.get("privileged"):
                problem(cw, "privileged")
            if "ALL" not in (get(sc, "capabilities.drop") or []):
                problem(cw, "capabilities must drop ALL")
            if get(sc, "capabilities.add"):
                problem(cw, "adds capabilities")
            if sc.get("runAsUser") == 0:
                problem(cw, "runs as root")
            for part in ("requests", "limits"):
                for res in ("cpu", "memory"):
                    if not get(c, f"resources.{part}.{res}"):
                        problem(cw, f"resources.{part}.{res} missing")
            image = c.get("image", "")
            if ":" not in image.rsplit("/", 1)[-1] and "@" not in image:
                problem(cw, f"image {image!r} has no tag")
            for ref in c.get("envFrom", []):
                cm = get(ref, "configMapRef.name")
                if cm and cm not in configmap_names:
                    problem(cw, f"envFrom ConfigMap {cm} not rendered")
                sr = get(ref, "secretRef.name")
                if sr:
                    problem(cw, "use secretKeyRef per key, not envFrom secretRef")
            for env in c.get("env", []):
                ref = get(env, "valueFrom.secretKeyRef")
                if not ref:
                    continue
                if overlay == "prod":
                    if ref["name"] != SECRET_NAME:
                        problem(cw, f"secret {ref['name']} is not {SECRET_NAME}")
                elif ref["name"] not in secret_names:
                    problem(cw, f"secret {ref['name']} not rendered")
            names = {e["name"] for e in c.get("env", [])}
            if name in SERVICES or name == "migrate":
                missing = SECRET_KEYS - names
                if missing:
                    problem(cw, f"env lacks {sorted(missing)}")
            for vm in c.get("volumeMounts", []):
                vols = {v["name"] for v in spec.get("volumes", [])}
                vols |= {get(t, "metadata.name") for t in get(w, "spec.volumeClaimTemplates", [])}
                if vm["name"] not in vols:
                    problem(cw, f"volumeMount {vm['name']} has no volume")

    # --- the four services ---------------------------------------------------------------------------
    for svc, (port, exposed) in SERVICES.items():
        where = f"Deployment/{svc}"
        dep = named("Deployment", svc)
        if not dep:
            problem(where, "missing")
            continue
        spec = get(dep, "spec.template.spec")
        labels = get(dep, "spec.template.metadata.labels", {})
        if labels.get("chat-platform/tier") != "app":
            problem(where, "pod label chat-platform/tier=app missing (NetworkPolicies select it)")
        c = spec["containers"][0]
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        if port not in ports.values():
            problem(where, f"containerPort {port} missing")
        for probe, want in (("readinessProbe", "/ready"), ("livenessProbe", "/health")):
            got = get(c, f"{probe}.httpGet.path")
            if got != want:
                problem(where, f"{probe} must GET {want}, is {got}")
            pp = get(c, f"{probe}.httpGet.port")
            if pp not in ports and pp not in ports.values():
                problem(where, f"{probe} port {pp} is not a container port")
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        shutdown = int(env.get("APP__HTTP__SHUTDOWN_TIMEOUT_SECS")
                       or config.get("APP__HTTP__SHUTDOWN_TIMEOUT_SECS")
                       or DEFAULT_SHUTDOWN_TIMEOUT_SECS)
        pre_stop = 0
        cmd = get(c, "lifecycle.preStop.exec.command") or []
        if cmd[:1] == ["sleep"] and len(cmd) == 2:
            pre_stop = int(cmd[1])
        elif get(c, "lifecycle.preStop.sleep.seconds"):
            pre_stop = int(get(c, "lifecycle.preStop.sleep.seconds"))
        if exposed and pre_stop <= 0:
            problem(where, "needs a preStop pause so endpoints are removed before SIGTERM")
        drain = shutdown + pre_stop + (GATEWAY_SOCKET_DRAIN_SECS if svc == "chat-gateway" else 0)
        grace = spec.get("terminationGracePeriodSeconds", 30)
        if grace < drain + 5:
            problem(where, f"terminationGracePeriodSeconds {grace} < preStop {pre_stop} + drain "
                           f"{drain - pre_stop} + 5 s margin")
        # Service
        service = named("Service", svc)
        if not service:
            problem(f"Service/{svc}", "missing")
        else:
            if not selects({"matchLabels": get(service, "spec.selector")}, labels):
                problem(f"Service/{svc}", "selector does not match the Deployment's pods")
            for sp in get(service, "spec.ports", []):
                tp = sp.get("targetPort", sp["port"])
                if tp not in ports and tp not in ports.values():
                    problem(f"Service/{svc}", f"targetPort {tp} is not a container port")
        # PDB
        if not any(selects(get(p, "spec.selector"), labels) for p in by_kind.get("PodDisruptionBudget", [])):
            problem(where, "no PodDisruptionBudget selects it")
        # HPA
        hpas = [h for h in by_kind.get("HorizontalPodAutoscaler", [])
                if get(h, "spec.scaleTargetRef.name") == svc and get(h, "spec.scaleTargetRef.kind") == "Deployment"]
        if svc in AUTOSCALED:
            if not hpas:
                problem(where, "no HorizontalPodAutoscaler")
            for h in hpas:
                if get(h, "spec.minReplicas", 1) < (2 if svc == "chat-gateway" else 1):
                    problem(f"HorizontalPodAutoscaler/{svc}", "minReplicas too low")
                if get(h, "spec.maxReplicas") < get(h, "spec.minReplicas", 1):
                    problem(f"HorizontalPodAutoscaler/{svc}", "maxReplicas < minReplicas")
            if "replicas" in dep["spec"]:
                problem(where, "spec.replicas set although an HPA owns the replica count")
            for res in ("cpu", "memory"):
                if any(m.get("resource", {}).get("name") == res for h in hpas for m in get(h, "spec.metrics", [])):
                    if not get(c, f"resources.requests.{res}"):
                        problem(where, f"HPA scales on {res} but no {res} request")

    # --- migration Job -------------------------------------------------------------------------------
    job = named("Job", "migrate")
    if not job:
        problem("Job/migrate", "missing")
    else:
        c = get(job, "spec.template.spec.containers")[0]
        if c.get("args") != ["migrate"] and c.get("command", [])[-1:] != ["migrate"]:
            problem("Job/migrate", "must run `api-service migrate`")
        if "api-service" not in c.get("image", ""):
            problem("Job/migrate", "must use the api-service image")
        if get(job, "spec.template.spec.restartPolicy") not in ("Never", "OnFailure"):
            problem("Job/migrate", "restartPolicy must be Never or OnFailure")

    # --- Ingress -----------------------------------------------------------------------------------
    routes = {}
    for ing in by_kind.get("Ingress", []):
        where = f"Ingress/{ing['metadata']['name']}"
        ann = get(ing, "metadata.annotations", {}) or {}
        if not get(ing, "spec.ingressClassName"):
            problem(where, "ingressClassName missing")
        for rule in get(ing, "spec.rules", []):
            for p in get(rule, "http.paths", []):
                svc = get(p, "backend.service.name")
                port = get(p, "backend.service.port")
                routes[p["path"]] = (svc, ann)
                service = named("Service", svc)
                if not service:
                    problem(where, f"path {p['path']} -> missing Service {svc}")
                    continue
                sports = get(service, "spec.ports", [])
                if not any(sp.get("name") == port.get("name") or sp["port"] == port.get("number") for sp in sports):
                    problem(where, f"path {p['path']} -> Service {svc} has no port {port}")
        if overlay == "prod":
            if not get(ing, "spec.tls"):
                problem(where, "prod Ingress without TLS")
            if not all(r.get("host") for r in get(ing, "spec.rules", [])):
                problem(where, "prod Ingress rule without host")
    for path, want in (("/ws", "chat-gateway"), ("/api/v1/admin", "admin-stats"), ("/api", "api-service")):
        got = routes.get(path, (None, {}))[0]
        if got != want:
            problem("Ingress", f"{path} must route to {want}, routes to {got}")
    ws_ann = routes.get("/ws", (None, {}))[1]
    for key in ("proxy-read-timeout", "proxy-send-timeout"):
        value = ws_ann.get(f"nginx.ingress.kubernetes.io/{key}", "60")
        if int(value) < 600:
            problem("Ingress /ws", f"{key} {value}s is too short for WebSockets")
    for path in ("/metrics", "/ready", "/"):
        if path in routes:
            problem("Ingress", f"{path} must not be public")

    # --- NetworkPolicies ------------------------------------------------------------------------------
    policies = by_kind.get("NetworkPolicy", [])

    def allowed_egress(pod_labels, port, proto="TCP"):
        for np in policies:
            if "Egress" not in get(np, "spec.policyTypes", []):
                continue
            if not selects(get(np, "spec.podSelector"), pod_labels) and get(np, "spec.podSelector") != {}:
                continue
            for rule in get(np, "spec.egress", []) or []:
                ports = rule.get("ports")
                if not ports or any(p.get("port") == port and p.get("protocol", "TCP") == proto for p in ports):
                    return True
        return False

    def allowed_ingress(pod_labels, port):
        for np in policies:
            if "Ingress" not in get(np, "spec.policyTypes", []):
                continue
            if not selects(get(np, "spec.podSelector"), pod_labels) and get(np, "spec.podSelector") != {}:
                continue
            for rule in get(np, "spec.ingress", []) or []:
                ports = rule.get("ports")
                if not ports or any(p.get("port") == port for p in ports):
                    return True
        return False

    deny = [np for np in policies if get(np, "spec.podSelector") == {}
            and set(get(np, "spec.policyTypes", [])) == {"Ingress", "Egress"}
            and not get(np, "spec.ingress") and not get(np, "spec.egress")]
    if not deny:
        problem("NetworkPolicy", "no default-deny policy for ingress and egress")
    for name, (labels, _spec) in pods.items():
        if not allowed_egress(labels, 53, "UDP"):
            problem(f"NetworkPolicy ({name})", "DNS egress not allowed")
        if name in SERVICES or name == "migrate":
            for port in (5432, 6379):
                if not allowed_egress(labels, port):
                    problem(f"NetworkPolicy ({name})", f"egress to {port} not allowed")
        if name in SERVICES:
            if not allowed_ingress(labels, SERVICES[name][0]):
                problem(f"NetworkPolicy ({name})", f"ingress to {SERVICES[name][0]} not allowed")
            if allowed_egress(labels, 443) != (name == "llm-worker"):
                problem(f"NetworkPolicy ({name})", "only llm-worker may reach port 443")
    if overlay == "dev":
        for store, port, image in (("postgres", 5432, "postgres:15"), ("redis", 6379, "redis:7")):
            sts = named("StatefulSet", store)
            if not sts:
                problem(f"StatefulSet/{store}", "missing in dev")
                continue
            if get(sts, "spec.template.spec.containers")[0].get("image") != image:
                problem(f"StatefulSet/{store}", f"image must be {image}")
            if not named("Service", store):
                problem(f"Service/{store}", "missing")
            if not allowed_ingress(get(sts, "spec.template.metadata.labels"), port):
                problem(f"NetworkPolicy ({store})", f"ingress to {port} not allowed")
    if overlay == "prod" and by_kind.get("StatefulSet"):
        problem("prod", "no StatefulSets: the database and Redis are external")

    if problems:
        for p in problems:
            print(f"  {overlay}: {p}")
        print(f"check_k8s {overlay}: {len(problems)} problem(s)")
        return 1
    kinds = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_kind.items()))
    print(f"check_k8s {overlay}: ok ({kinds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
