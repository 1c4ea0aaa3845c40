"""The deployment files agree with the service and with each other.

The linters (scripts/lint_deploy.py) check each file against its own schema; these check what no schema knows:
probes use the spec's /livez and /readyz, every port is the one the service listens on, every variable is a
Settings field, the image's user is the one the orchestrators run as, and shutdown is given enough time.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from impl.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SETTINGS = {name.upper() for name in Settings.model_fields}
DEFAULTS = Settings.model_fields
PORT = DEFAULTS["port"].default
DEFAULT_GRACE = DEFAULTS["shutdown_grace_seconds"].default
LIVENESS, READINESS = "/livez", "/readyz"
# Not Settings: ECS injects secrets only as variables, so the task's entrypoint builds DATABASE_URL, REDIS_URL
# and the key file from these parts (deploy/aws/charter.yaml), then unsets the secret ones.
ECS_ENTRYPOINT_PARTS = {
    "DB_USER",
    "DB_PASSWORD",
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "REDIS_AUTH_TOKEN",
    "REDIS_HOST",
    "REDIS_PORT",
    "JWT_KID",
    "JWT_PRIVATE_KEY_PEM",
}
# Read by the interpreter and by prometheus-client at import, not by Settings; set in the image.
PROCESS_ENVIRONMENT = {"PATH", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "PROMETHEUS_MULTIPROC_DIR"}


class CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation's short tags (!Ref, !Sub, ...) as their long forms."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


CloudFormationLoader.add_multi_constructor("!", _intrinsic)


def load(relative: str) -> Any:
    return yaml.safe_load((DEPLOY / relative).read_text(encoding="utf-8"))


def kubernetes(kind: str) -> dict[str, Any]:
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        if document["kind"] == kind:
            return dict(document)
    raise AssertionError(f"no {kind} in deploy/k8s")


def app_container() -> dict[str, Any]:
    (container,) = kubernetes("Deployment")["spec"]["template"]["spec"]["containers"]
    return dict(container)


def ecs_container() -> dict[str, Any]:
    template = CloudFormationLoader((DEPLOY / "aws" / "charter.yaml").read_text(encoding="utf-8")).get_single_data()
    (container,) = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    return dict(container)


def cloudformation_resource(name: str) -> dict[str, Any]:
    template = CloudFormationLoader((DEPLOY / "aws" / "charter.yaml").read_text(encoding="utf-8")).get_single_data()
    return dict(template["Resources"][name]["Properties"])


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text(encoding="utf-8")


def runtime_instructions(keyword: str) -> list[str]:
    """The arguments of each ``keyword`` instruction of the runtime stage, continuation lines joined."""
    stage = dockerfile().split(" AS runtime\n", 1)[1]
    joined = re.sub(r"\\\n\s*", " ", stage)
    return [line.split(" ", 1)[1] for line in joined.splitlines() if line.startswith(f"{keyword} ")]


def dockerfile_environment() -> dict[str, str]:
    return dict(re.findall(r'([A-Z_]+)=("[^"]*"|\S+)', " ".join(runtime_instructions("ENV"))))


def test_the_spec_defines_the_probe_endpoints_the_deployments_use() -> None:
    paths = yaml.safe_load((ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))["paths"]

    assert {LIVENESS, READINESS} <= paths.keys()


# --- the image ----------------------------------------------------------------------------------------------


def test_the_image_checks_liveness_and_exposes_the_service_port() -> None:
    healthcheck = re.search(r"^HEALTHCHECK .*?CMD (.*)$", dockerfile(), flags=re.MULTILINE | re.DOTALL)

    assert healthcheck is not None
    assert LIVENESS in healthcheck[1]
    assert re.search(rf"^EXPOSE {PORT}$", dockerfile(), flags=re.MULTILINE)
    assert dockerfile_environment()["PORT"] == str(PORT)


def test_the_image_sets_only_settings_and_runs_in_prod_on_all_interfaces() -> None:
    environment = dockerfile_environment()

    assert environment.keys() - PROCESS_ENVIRONMENT <= SETTINGS
    assert (environment["APP_ENV"], environment["HOST"]) == ("prod", "0.0.0.0")  # noqa: S104  # a container listens on its own interface
    assert re.search(r'^CMD \["python", "-m", "impl"\]$', dockerfile(), flags=re.MULTILINE)


def image_user() -> tuple[int, int]:
    uid = re.search(r"^ARG APP_UID=(\d+)$", dockerfile(), flags=re.MULTILINE)
    gid = re.search(r"^ARG APP_GID=(\d+)$", dockerfile(), flags=re.MULTILINE)
    assert uid is not None
    assert gid is not None
    assert re.search(r"^USER \$\{APP_UID\}:\$\{APP_GID\}$", dockerfile(), flags=re.MULTILINE)
    return int(uid[1]), int(gid[1])


# --- Kubernetes ---------------------------------------------------------------------------------------------


def test_kubernetes_probes_use_liveness_and_readiness_on_the_service_port() -> None:
    container = app_container()
    (port,) = container["ports"]

    assert port == {"name": "http", "containerPort": PORT, "protocol": "TCP"}
    for probe, path in (("startupProbe", LIVENESS), ("livenessProbe", LIVENESS), ("readinessProbe", READINESS)):
        assert container[probe]["httpGet"] == {"path": path, "port": "http"}
    assert kubernetes("ConfigMap")["data"]["PORT"] == str(PORT)
    assert kubernetes("Service")["spec"]["ports"][0]["targetPort"] == "http"


def test_kubernetes_reads_only_settings_and_commits_no_secret() -> None:
    config = kubernetes("ConfigMap")["data"]
    secret = kubernetes("Secret")["stringData"]

    assert config.keys() <= SETTINGS
    assert secret.keys() <= SETTINGS
    assert set(secret.values()) == {"<set-me>"}
    assert config["APP_ENV"] == "prod"
    assert {source.get("configMapRef", source.get("secretRef"))["name"] for source in app_container()["envFrom"]} == {
        kubernetes("ConfigMap")["metadata"]["name"],
        kubernetes("Secret")["metadata"]["name"],
    }


def test_kubernetes_gives_in_flight_requests_their_grace_period_after_endpoints_drain() -> None:
    pod = kubernetes("Deployment")["spec"]["template"]["spec"]
    pre_stop = app_container()["lifecycle"]["preStop"]["exec"]["command"]
    grace = float(kubernetes("ConfigMap")["data"]["SHUTDOWN_GRACE_SECONDS"])

    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > float(pre_stop[1]) + max(grace, DEFAULT_GRACE)


def test_kubernetes_runs_the_image_user_on_a_read_only_root_with_writable_data_and_tmp() -> None:
    pod = kubernetes("Deployment")["spec"]["template"]["spec"]
    container = app_container()
    mounts = {mount["mountPath"]: mount for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    config = kubernetes("ConfigMap")["data"]

    assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == image_user()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    scratch = ("/tmp", dockerfile_environment()["PROMETHEUS_MULTIPROC_DIR"])  # noqa: S108
    for path in scratch:
        assert "emptyDir" in volumes[mounts[path]["name"]], path
    assert mounts[config["JWT_KEYS_DIR"]]["readOnly"] is True
    assert config["DATA_DIR"] == dockerfile_environment()["DATA_DIR"]


def test_kubernetes_pods_share_one_read_write_many_data_directory() -> None:
    # Uploaded files live in DATA_DIR: with several replicas, each must see the files the others stored.
    volumes = {volume["name"]: volume for volume in kubernetes("Deployment")["spec"]["template"]["spec"]["volumes"]}
    mounts = {mount["mountPath"]: mount for mount in app_container()["volumeMounts"]}
    claim = kubernetes("PersistentVolumeClaim")

    data = volumes[mounts[kubernetes("ConfigMap")["data"]["DATA_DIR"]]["name"]]
    assert data["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_the_autoscaler_and_the_disruption_budget_target_the_deployment() -> None:
    deployment = kubernetes("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]

    assert kubernetes("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert kubernetes("PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert kubernetes("Service")["spec"]["selector"].items() <= labels.items()
    assert (
        kubernetes("HorizontalPodAutoscaler")["spec"]["minReplicas"]
        > kubernetes("PodDisruptionBudget")["spec"]["minAvailable"]
    )


# --- AWS ----------------------------------------------------------------------------------------------------


def test_aws_checks_readiness_at_the_load_balancer_and_liveness_in_the_container() -> None:
    target_group = cloudformation_resource("TargetGroup")
    container = ecs_container()

    assert (target_group["HealthCheckPath"], target_group["Port"]) == (READINESS, PORT)
    assert any(LIVENESS in part for part in container["HealthCheck"]["Command"])
    assert container["PortMappings"] == [{"ContainerPort": PORT, "Protocol": "tcp"}]


def test_aws_sets_only_settings_or_parts_its_entrypoint_assembles() -> None:
    container = ecs_container()
    names = {variable["Name"] for variable in container["Environment"] + container["Secrets"]}
    script = container["EntryPoint"][2]

    assert names - ECS_ENTRYPOINT_PARTS <= SETTINGS
    for part in ECS_ENTRYPOINT_PARTS:
        assert f"${part}" in script, part
    assert {secret["Name"] for secret in container["Secrets"]} >= {"SECRET_KEY", "DB_PASSWORD", "REDIS_AUTH_TOKEN"}


def test_aws_stops_a_task_only_after_draining_and_the_grace_period() -> None:
    container = ecs_container()
    environment = {variable["Name"]: variable["Value"] for variable in container["Environment"]}
    attributes = {
        item["Key"]: item["Value"] for item in cloudformation_resource("TargetGroup")["TargetGroupAttributes"]
    }

    assert container["StopTimeout"] > float(environment["SHUTDOWN_GRACE_SECONDS"]) >= DEFAULT_GRACE
    assert int(attributes["deregistration_delay.timeout_seconds"]) < container["StopTimeout"]
    assert container["User"] == "{}:{}".format(*image_user())
    assert container["ReadonlyRootFilesystem"] is True
    mounted = {mount["ContainerPath"] for mount in container["MountPoints"]}
    image = dockerfile_environment()
    assert {image["DATA_DIR"], "/tmp", image["PROMETHEUS_MULTIPROC_DIR"]} <= mounted  # noqa: S108


def test_aws_tasks_share_one_encrypted_efs_data_directory_as_the_image_user_in_zones_with_a_mount_target() -> None:
    container = ecs_container()
    environment = {variable["Name"]: variable["Value"] for variable in container["Environment"]}
    template = CloudFormationLoader((DEPLOY / "aws" / "charter.yaml").read_text(encoding="utf-8")).get_single_data()
    resources = template["Resources"]
    (data_mount,) = [m for m in container["MountPoints"] if m["ContainerPath"] == environment["DATA_DIR"]]
    volumes = {volume["Name"]: volume for volume in resources["TaskDefinition"]["Properties"]["Volumes"]}

    efs = volumes[data_mount["SourceVolume"]]["EFSVolumeConfiguration"]
    assert efs["FilesystemId"] == {"Ref": "FileSystem"}
    assert efs["TransitEncryption"] == "ENABLED"
    access_point = resources[efs["AuthorizationConfig"]["AccessPointId"]["Ref"]]["Properties"]
    user = access_point["PosixUser"]
    assert (int(user["Uid"]), int(user["Gid"])) == image_user()
    assert resources["FileSystem"]["Properties"]["Encrypted"] is True
    mount_target_subnets = [
        resource["Properties"]["SubnetId"]
        for resource in resources.values()
        if resource["Type"] == "AWS::EFS::MountTarget"
    ]
    service_subnets = resources["Service"]["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]["Subnets"]
    assert service_subnets == mount_target_subnets


# --- compose ------------------------------------------------------------------------------------------------


def test_compose_runs_the_app_with_settings_only_and_enough_time_to_stop() -> None:
    app = load("compose.yaml")["services"]["app"]

    assert app["environment"].keys() <= SETTINGS
    assert app["environment"]["APP_ENV"] == "prod"
    assert app["environment"]["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert any(LIVENESS in part for part in app["healthcheck"]["test"])
    assert app["ports"] == [f"${{PUBLISH_PORT:-{PORT}}}:{PORT}"]
    assert int(app["stop_grace_period"].removesuffix("s")) > float(app["environment"]["SHUTDOWN_GRACE_SECONDS"])
    assert any(volume.endswith(f":{app['environment']['JWT_KEYS_DIR']}:ro") for volume in app["volumes"])
    assert app["read_only"] is True
    assert {"/tmp", dockerfile_environment()["PROMETHEUS_MULTIPROC_DIR"]} <= set(app["tmpfs"])  # noqa: S108


def test_compose_uses_postgres_16_and_redis_7() -> None:
    services = load("compose.yaml")["services"]

    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")


def test_compose_redis_keeps_the_token_blacklist_across_restarts() -> None:
    # Without persistence a restarted Redis forgets every logout: the tokens would be accepted again.
    redis = load("compose.yaml")["services"]["redis"]

    assert "--appendonly yes" in " ".join(redis["command"])
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
