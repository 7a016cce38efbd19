"""deploy/k8s: the Kubernetes manifests parse, agree with docker-compose.yml and with the code.

No cluster runs in CI (and kubeconform is not installed): these tests read the YAML and check
what a cluster would only find out at run time, or never: probe paths that exist and answer on
any host, the same image, commands and settings as docker-compose.yml, every variable
documented in README's configuration table, exactly one beat, the hardening on every container.
`kubectl kustomize deploy/` renders them (with deploy/nginx/candor.conf present).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.urls import resolve

from apps.core import views as core_views
from apps.organizations.middleware import HEALTH_PATHS

BASE_DIR = Path(__file__).resolve().parent.parent
DEPLOY = BASE_DIR / "deploy"
K8S = DEPLOY / "k8s"
NGINX_CONF = DEPLOY / "nginx" / "candor.conf"
KUSTOMIZATION = yaml.safe_load((K8S / "kustomization.yaml").read_text())
ROOT_KUSTOMIZATION = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
COMPOSE = yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())
MANIFEST_FILES = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
DOCUMENTS: list[dict[str, Any]] = [
    doc for path in MANIFEST_FILES for doc in yaml.safe_load_all(path.read_text()) if doc
]
CANDOR_IMAGE = "candor"


def find(kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in DOCUMENTS if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} found"
    return matches[0]


def pod_spec(name: str, kind: str = "Deployment") -> dict[str, Any]:
    return find(kind, name)["spec"]["template"]["spec"]


def container(name: str, kind: str = "Deployment") -> dict[str, Any]:
    return pod_spec(name, kind)["containers"][0]


def pod_specs() -> list[dict[str, Any]]:
    return [d["spec"]["template"]["spec"] for d in DOCUMENTS if d["kind"] in {"Deployment", "Job"}]


def candor_containers() -> list[dict[str, Any]]:
    return [
        c
        for spec in pod_specs()
        for c in spec.get("initContainers", []) + spec["containers"]
        if c["image"] == CANDOR_IMAGE
    ]


def compose_command(service: str) -> list[str]:
    return list(COMPOSE["services"][service]["command"])


def readme_variables() -> set[str]:
    """The variables of README's "Configuration" table (first column, in backticks)."""
    text = (BASE_DIR / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z0-9_*]+)` \|", section, flags=re.MULTILINE))


def test_every_manifest_parses_and_is_listed_in_the_kustomization():
    assert MANIFEST_FILES
    assert all({"apiVersion", "kind", "metadata"} <= set(doc) for doc in DOCUMENTS)
    assert sorted(KUSTOMIZATION["resources"]) == [p.name for p in MANIFEST_FILES]
    assert ROOT_KUSTOMIZATION["resources"] == ["k8s"]
    assert ROOT_KUSTOMIZATION["namespace"] == KUSTOMIZATION["namespace"] == "candor"


def test_web_probes_point_at_health_views_that_answer_on_any_host():
    web = container("candor-web")

    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"/readyz", "/healthz"} <= HEALTH_PATHS  # the tenant middleware lets any Host in
    assert resolve("/readyz").func is core_views.readyz
    assert resolve("/healthz").func is core_views.healthz
    port_names = {port["name"] for port in web["ports"]}
    assert web["readinessProbe"]["httpGet"]["port"] in port_names
    assert web["livenessProbe"]["httpGet"]["port"] in port_names


def test_every_candor_process_runs_the_image_docker_compose_builds():
    compose_images = {COMPOSE["services"][s]["image"] for s in ("migrate", "web", "worker", "beat")}
    (tag,) = (i["newTag"] for i in KUSTOMIZATION["images"] if i["name"] == CANDOR_IMAGE)

    assert compose_images == {f"{CANDOR_IMAGE}:{tag}"}
    assert {c["name"] for c in candor_containers()} >= {"web", "worker", "beat", "migrate"}


def test_the_migrate_job_runs_migrate_noinput_like_compose():
    job = container("candor-migrate", kind="Job")

    assert job["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert job["command"] == compose_command("migrate")


def test_web_worker_and_beat_wait_for_the_migrations():
    for name in ("candor-web", "candor-worker", "candor-beat"):
        (init,) = pod_spec(name)["initContainers"]
        assert "manage.py migrate --check" in init["command"][-1]


def test_web_worker_and_beat_run_what_compose_runs():
    web, worker, beat = (container(n) for n in ("candor-web", "candor-worker", "candor-beat"))

    assert web["command"][:2] == compose_command("web")[:2]  # the same server, same app
    assert set(compose_command("web")) - set(web["command"]) <= {"--workers=${WEB_CONCURRENCY:-3}"}
    assert [a for a in worker["command"] if not a.startswith("--concurrency")] == compose_command(
        "worker"
    )
    assert beat["command"] == compose_command("beat")


def test_the_settings_compose_gives_the_app_are_given_here_too():
    compose_env = set(COMPOSE["services"]["web"]["environment"])
    config = set(find("ConfigMap", "candor-config")["data"])
    secrets = set(find("Secret", "candor-secrets")["stringData"])

    assert compose_env <= config | secrets
    assert not config & secrets
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "EMAIL_URL"} <= secrets


def test_every_variable_given_to_candor_is_documented_in_the_readme():
    documented = readme_variables()
    config = set(find("ConfigMap", "candor-config")["data"])
    secrets = set(find("Secret", "candor-secrets")["stringData"])
    direct = {e["name"] for c in candor_containers() for e in c.get("env", [])}

    assert "SECRET_KEY" in documented  # the table was found
    assert (config | secrets | direct) - documented == set()


def test_every_candor_container_reads_the_config_map_and_the_secret():
    for c in candor_containers():
        sources = [next(iter(s.values()))["name"] for s in c["envFrom"]]
        assert sources == ["candor-config", "candor-secrets"], c["name"]


def test_exactly_one_beat_replaced_never_rolled():
    beat = find("Deployment", "candor-beat")

    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    autoscalers = [d for d in DOCUMENTS if d["kind"] == "HorizontalPodAutoscaler"]
    targets = {d["spec"]["scaleTargetRef"]["name"] for d in autoscalers}
    assert targets == {"candor-web", "candor-worker"}


def test_the_worker_liveness_pings_its_own_node_through_celery():
    probe = " ".join(container("candor-worker")["livenessProbe"]["exec"]["command"])

    assert "celery -A config inspect ping" in probe
    assert '-d "celery@$HOSTNAME"' in probe


def test_web_pods_have_a_disruption_budget_and_a_service_matching_their_labels():
    labels = find("Deployment", "candor-web")["spec"]["template"]["metadata"]["labels"]
    budget = find("PodDisruptionBudget", "candor-web")["spec"]
    service = find("Service", "web")["spec"]

    assert budget["selector"]["matchLabels"].items() <= labels.items()
    assert service["selector"].items() <= labels.items()
    assert service["ports"][0]["port"] == 8000


def test_every_service_selects_the_pods_of_a_deployment():
    deployments = [d for d in DOCUMENTS if d["kind"] == "Deployment"]
    for service in (d for d in DOCUMENTS if d["kind"] == "Service"):
        selector = service["spec"]["selector"].items()
        matched = [
            d
            for d in deployments
            if selector <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matched) == 1, service["metadata"]["name"]


def test_every_container_is_non_root_read_only_and_bounded():
    for spec in pod_specs():
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["automountServiceAccountToken"] is False
        volumes = {v["name"]: v for v in spec["volumes"]}
        for c in spec.get("initContainers", []) + spec["containers"]:
            assert c["securityContext"]["readOnlyRootFilesystem"] is True, c["name"]
            assert c["securityContext"]["allowPrivilegeEscalation"] is False, c["name"]
            assert c["securityContext"]["capabilities"]["drop"] == ["ALL"], c["name"]
            assert {"cpu", "memory"} <= set(c["resources"]["requests"]), c["name"]
            assert {"cpu", "memory"} <= set(c["resources"]["limits"]), c["name"]
            # A path inside the container, not a temporary file here.
            (tmp,) = (m for m in c["volumeMounts"] if m["mountPath"] == "/tmp")  # noqa: S108
            assert "emptyDir" in volumes[tmp["name"]], c["name"]


def test_every_referenced_config_map_secret_and_claim_exists():
    generated = {g["name"] for g in ROOT_KUSTOMIZATION["configMapGenerator"]}
    names = {
        kind: {d["metadata"]["name"] for d in DOCUMENTS if d["kind"] == kind}
        for kind in ("ConfigMap", "Secret", "PersistentVolumeClaim")
    }
    volumes = [v for spec in pod_specs() for v in spec["volumes"]]
    config_maps = {v["configMap"]["name"] for v in volumes if "configMap" in v}
    claims = {
        v["persistentVolumeClaim"]["claimName"] for v in volumes if "persistentVolumeClaim" in v
    }
    sources = [s for c in candor_containers() for s in c["envFrom"]]

    assert config_maps <= names["ConfigMap"] | generated
    assert claims <= names["PersistentVolumeClaim"]
    assert {s["configMapRef"]["name"] for s in sources if "configMapRef" in s} <= names["ConfigMap"]
    assert {s["secretRef"]["name"] for s in sources if "secretRef" in s} <= names["Secret"]


def test_the_front_cache_reads_the_generated_nginx_configuration_and_reaches_web():
    (generator,) = ROOT_KUSTOMIZATION["configMapGenerator"]
    nginx = container("candor-front")
    env = {e["name"]: e["value"] for e in nginx["env"]}
    mounts = {m["mountPath"]: m["name"] for m in nginx["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec("candor-front")["volumes"]}
    web_port = find("Service", "web")["spec"]["ports"][0]["port"]

    assert generator["files"] == ["candor.conf.template=nginx/candor.conf"]
    assert volumes[mounts["/etc/nginx/templates"]]["configMap"]["name"] == generator["name"]
    assert env["CANDOR_UPSTREAM"] == f"web:{web_port}"
    assert nginx["ports"][0]["containerPort"] == int(env["CANDOR_LISTEN"])
    assert env["CANDOR_CACHE_DIR"].startswith(next(p for p in mounts if p == "/var/cache/nginx"))


@pytest.mark.skipif(
    not NGINX_CONF.exists(), reason="deploy/nginx/candor.conf comes with the front cache's branch"
)
def test_every_placeholder_of_the_nginx_template_is_given_a_value():
    placeholders = set(re.findall(r"\$\{(CANDOR_[A-Z_]+)\}", NGINX_CONF.read_text()))
    env = {e["name"] for e in container("candor-front")["env"]}

    assert placeholders
    assert placeholders <= env
